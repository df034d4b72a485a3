"""Organizations: creating one (its creator becomes OWNER), renaming, deleting, reading.

A read names the caller's role beside each organization, joined in the same
statement, so a field guarded by the organization's roles needs no second read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import savepoint
from gql_auth.core.errors import Conflict, Forbidden, InvalidInput, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.orgs.announcements import announce
from gql_auth.orgs.locks import locked_with_role
from gql_auth.orgs.models import Membership, Organization, OrgRole
from gql_auth.orgs.rules import clean_name, clean_slug
from gql_auth.users.locks import lock_user
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, organization_data


@dataclass(frozen=True, slots=True)
class Seen:
    """An organization and the caller's role in it (None: not a member)."""

    organization: Organization
    role: OrgRole | None


async def create(
    db: AsyncSession, *, user_id: int, name: str, slug: str, max_owned: int, client: ClientInfo
) -> Seen:
    """createOrganization: the caller becomes its OWNER, within MAX_ORGANIZATIONS_PER_USER."""
    name, slug = clean_name(name), clean_slug(slug)
    await lock_user(db, user_id)  # parallel creations by one user take turns: the cap holds
    await ensure_may_own_another(db, user_id=user_id, max_owned=max_owned)
    await _ensure_slug_free(db, slug)
    organization = Organization(name=name, slug=slug, created_at=utcnow())
    await _save_slug(db, organization)
    ownership = Membership(
        organization_id=organization.id,
        user_id=user_id,
        role=OrgRole.OWNER,
        joined_at=organization.created_at,
    )
    db.add(ownership)
    await db.flush()
    audit.record(db, EventKind.ORGANIZATION_CREATED, user_id=user_id, client=client)
    await outbox.emit(db, EventType.ORGANIZATION_CREATED, organization_data(organization))
    await announce(db, EventType.MEMBER_ADDED, ownership)
    return Seen(organization, OrgRole.OWNER)


async def update(
    db: AsyncSession,
    *,
    user_id: int,
    organization_id: int,
    name: str | None,
    slug: str | None,
) -> Seen:
    """updateOrganization: OWNER only, as the lock finds it."""
    new_name = None if name is None else clean_name(name)
    new_slug = None if slug is None else clean_slug(slug)
    organization = await _owned_under_lock(db, user_id=user_id, organization_id=organization_id)
    before = organization_data(organization)
    if new_name is not None:
        organization.name = new_name
    if new_slug is not None and new_slug != organization.slug:
        await _ensure_slug_free(db, new_slug)
        organization.slug = new_slug
        await _save_slug(db, organization)
    await db.flush()
    after = organization_data(organization)
    if after != before:
        await outbox.emit(db, EventType.ORGANIZATION_UPDATED, after)
    return Seen(organization, OrgRole.OWNER)


async def delete_organization(
    db: AsyncSession, *, user_id: int, organization_id: int, client: ClientInfo
) -> None:
    """deleteOrganization: OWNER only; members, invitations and sessions' choice of it go too."""
    organization = await _owned_under_lock(db, user_id=user_id, organization_id=organization_id)
    await outbox.emit(db, EventType.ORGANIZATION_DELETED, organization_data(organization))
    await db.execute(
        delete(Organization)
        .where(Organization.id == organization_id)
        .execution_options(synchronize_session=False)
    )
    audit.record(db, EventKind.ORGANIZATION_DELETED, user_id=user_id, client=client)


async def ensure_may_own_another(db: AsyncSession, *, user_id: int, max_owned: int) -> None:
    """LIMIT_REACHED when the user owns MAX_ORGANIZATIONS_PER_USER already; under their lock."""
    owned = await db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == user_id, Membership.role == OrgRole.OWNER)
    )
    if (owned or 0) >= max_owned:
        raise Conflict(Reason.LIMIT_REACHED, f"A user may own at most {max_owned} organizations.")


async def seen_by(db: AsyncSession, *, organization_id: int, user_id: int) -> Seen | None:
    """One organization with the caller's role, in one read; None when there is none."""
    row = (
        await db.execute(
            select(Organization, Membership.role)
            .outerjoin(
                Membership,
                and_(Membership.organization_id == Organization.id, Membership.user_id == user_id),
            )
            .where(Organization.id == organization_id)
        )
    ).first()
    return None if row is None else Seen(row[0], row[1])


async def of_member(db: AsyncSession, *, user_id: int) -> Sequence[Seen]:
    """The user's organizations with their role in each, in the order they joined."""
    rows = await db.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.joined_at, Organization.id)
    )
    return [Seen(organization, role) for organization, role in rows]


async def all_organizations(db: AsyncSession) -> Sequence[tuple[Organization, int]]:
    """Every organization with its member count, by slug: for operators."""
    members = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == Organization.id)
        .scalar_subquery()
    )
    rows = await db.execute(select(Organization, members).order_by(Organization.slug))
    return [(organization, members) for organization, members in rows]


async def by_slug(db: AsyncSession, slug: str) -> Organization | None:
    organization: Organization | None = await db.scalar(
        select(Organization).where(Organization.slug == slug)
    )
    return organization


async def _owned_under_lock(
    db: AsyncSession, *, user_id: int, organization_id: int
) -> Organization:
    organization, role = await locked_with_role(db, organization_id, user_id)
    if organization is None or role is not OrgRole.OWNER:
        raise Forbidden("Only an owner of this organization may do this.")
    return organization


async def _ensure_slug_free(db: AsyncSession, slug: str) -> None:
    if await db.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        raise _slug_taken()


async def _save_slug(db: AsyncSession, organization: Organization) -> None:
    """Writes the row in a savepoint: losing a race for the slug undoes only this."""
    try:
        async with savepoint(db):
            db.add(organization)
            await db.flush()
    except IntegrityError:
        raise _slug_taken() from None


def _slug_taken() -> InvalidInput:
    return InvalidInput(Subject.SLUG, Reason.TAKEN, "This slug is taken.")
