"""Members of an organization: their roles, changing them, removing and leaving.

Every change locks the organization first (orgs.locks) and decides with the
roles as they are under that lock: the permission check at the edge ran
before it. An organization always keeps at least one OWNER.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import Conflict, Forbidden, InvalidInput, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.orgs.announcements import announce
from gql_auth.orgs.locks import lock_for_change, role_of
from gql_auth.orgs.models import Membership, Organization, OrgRole
from gql_auth.orgs.organizations import ensure_may_own_another
from gql_auth.orgs.rules import loses_an_owner, may_change
from gql_auth.users.models import User
from gql_auth.webhooks.events import EventType


@dataclass(frozen=True, slots=True)
class MemberPage:
    members: Sequence[tuple[Membership, User]]
    total_count: int
    has_next_page: bool


async def page(
    db: AsyncSession, *, organization_id: int, first: int, after_user_id: int | None
) -> MemberPage:
    """Members with their users, in user-id order, one page after the cursor's user."""
    where = [Membership.organization_id == organization_id]
    total = await db.scalar(select(func.count()).select_from(Membership).where(*where))
    if after_user_id is not None:
        where.append(Membership.user_id > after_user_id)
    rows = await db.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(*where)
        .order_by(Membership.user_id)
        .limit(first + 1)
    )
    members = [(membership, user) for membership, user in rows]
    return MemberPage(members[:first], int(total or 0), len(members) > first)


async def set_role(
    db: AsyncSession,
    *,
    actor_id: int,
    organization_id: int,
    user_id: int,
    role: OrgRole,
    max_owned: int,
    client: ClientInfo,
) -> tuple[Membership, User]:
    """setMemberRole: as the actor's role allows, never leaving the organization ownerless."""
    membership = await _change_under_lock(
        db, actor_id=actor_id, organization_id=organization_id, user_id=user_id, new=role
    )
    if role is OrgRole.OWNER and membership.role is not OrgRole.OWNER:
        await ensure_may_own_another(db, user_id=user_id, max_owned=max_owned)
    if membership.role is not role:
        previous, membership.role = membership.role, role
        audit.record(db, EventKind.MEMBER_ROLE_CHANGED, user_id=actor_id, client=client)
        await announce(db, EventType.MEMBER_UPDATED, membership, previousRole=previous.value)
    await db.flush()
    user = await db.get(User, user_id)
    assert user is not None  # noqa: S101 - the membership's foreign key holds it
    return membership, user


async def remove(
    db: AsyncSession, *, actor_id: int, organization_id: int, user_id: int, client: ClientInfo
) -> None:
    """removeMember (and leaveOrganization, where actor and member are one)."""
    membership = await _change_under_lock(
        db, actor_id=actor_id, organization_id=organization_id, user_id=user_id, new=None
    )
    await db.execute(
        delete(Membership)
        .where(
            Membership.organization_id == membership.organization_id,
            Membership.user_id == membership.user_id,
        )
        .execution_options(synchronize_session="fetch")
    )
    audit.record(db, EventKind.MEMBER_REMOVED, user_id=actor_id, client=client)
    await announce(db, EventType.MEMBER_REMOVED, membership)


async def add(
    db: AsyncSession,
    *,
    organization_id: int,
    user_id: int,
    role: OrgRole,
    max_owned: int,
) -> Membership:
    """A new member; the caller holds the user's lock, then the organization's.

    ALREADY_MEMBER when they belong already: joining never changes a role.
    """
    if await role_of(db, organization_id=organization_id, user_id=user_id) is not None:
        raise Conflict(Reason.ALREADY_MEMBER, "This user is already a member of the organization.")
    if role is OrgRole.OWNER:
        await ensure_may_own_another(db, user_id=user_id, max_owned=max_owned)
    membership = Membership(
        organization_id=organization_id, user_id=user_id, role=role, joined_at=utcnow()
    )
    db.add(membership)
    await db.flush()
    await announce(db, EventType.MEMBER_ADDED, membership)
    return membership


async def join(
    db: AsyncSession,
    *,
    organization_id: int,
    user_id: int,
    role: OrgRole,
    max_owned: int,
    client: ClientInfo,
) -> Membership:
    """gql-auth org-add-member: the user's lock, then the organization's (the one order).

    MEMBER_JOINED goes in the member's log: no account of the operator's acted.
    """
    if await lock_for_change(db, organization_id, user_id) is None:
        raise InvalidInput(Subject.ORGANIZATION_ID, Reason.NOT_FOUND, "No such organization.")
    membership = await add(
        db, organization_id=organization_id, user_id=user_id, role=role, max_owned=max_owned
    )
    audit.record(db, EventKind.MEMBER_JOINED, user_id=user_id, client=client)
    return membership


async def _change_under_lock(
    db: AsyncSession, *, actor_id: int, organization_id: int, user_id: int, new: OrgRole | None
) -> Membership:
    """The member's row once the organization is locked and the change is allowed.

    Leaving (actor and member one, `new` None) needs no role; anything else needs
    ADMIN or OWNER, as the roles stand under the lock.
    """
    organization = await lock_for_change(db, organization_id, actor_id, user_id)
    membership = None
    if organization is not None:
        membership = await db.scalar(
            select(Membership)
            .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
            .execution_options(populate_existing=True)
        )
    if actor_id == user_id and new is None:
        if organization is None or membership is None:
            raise InvalidInput(
                Subject.ORGANIZATION_ID, Reason.NOT_FOUND, "You are not a member of it."
            )
        return await _keeps_an_owner(db, organization, membership, new)
    actor = (
        None
        if organization is None
        else await role_of(db, organization_id=organization_id, user_id=actor_id)
    )
    if organization is None or actor is None or not actor.includes(OrgRole.ADMIN):
        raise Forbidden("Only an organization's admins and owners manage its members.")
    if membership is None:
        raise InvalidInput(
            Subject.USER_ID, Reason.NOT_FOUND, "No such member in this organization."
        )
    if not may_change(actor, current=membership.role, new=new):
        raise Forbidden("Only an owner grants or takes the OWNER role.")  # all else ADMIN may
    return await _keeps_an_owner(db, organization, membership, new)


async def _keeps_an_owner(
    db: AsyncSession, organization: Organization, membership: Membership, new: OrgRole | None
) -> Membership:
    if loses_an_owner(membership.role, new) and await _owners(db, organization) == 1:
        raise Conflict(
            Reason.LAST_OWNER,
            "An organization keeps at least one owner: make someone else an owner first.",
        )
    return membership


async def _owners(db: AsyncSession, organization: Organization) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization.id, Membership.role == OrgRole.OWNER)
    )
    return int(count or 0)
