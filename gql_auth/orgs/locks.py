"""The organization's row lock: every change to its members or invitations takes it.

The one lock order, extending users.locks': the users concerned (the one acting,
and the one whose membership is written), by ascending id, then the
organization, then its membership rows, then sessions. The users come first
because a row written under the organization's lock refers to them (a
membership, an invitation, the security event of the one acting), and on
InnoDB that takes a shared lock on their row: taken after the organization's,
it would deadlock with a sign-in or a deletion holding that user. With the
organization locked, changes to one organization's members take turns: two
owners demoting each other at once cannot both see the other one still there.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.database import rowcount
from gql_auth.orgs.models import Membership, Organization, OrgRole
from gql_auth.users.locks import lock_user


async def lock_for_change(
    db: AsyncSession, organization_id: int, *user_ids: int
) -> Organization | None:
    """The users concerned (ascending id), then the organization: the one lock order."""
    for user_id in sorted(set(user_ids)):
        await lock_user(db, user_id)
    return await lock_organization(db, organization_id)


async def lock_organization(db: AsyncSession, organization_id: int) -> Organization | None:
    """The organization, locked and as committed now; None when there is none.

    A write that changes nothing locks on both backends, where FOR UPDATE would
    do nothing on SQLite (as users.locks.lock_user).
    """
    locked = await db.execute(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(name=Organization.name)
        .execution_options(synchronize_session=False)
    )
    if rowcount(locked) != 1:
        return None
    return await db.scalar(
        select(Organization)
        .where(Organization.id == organization_id)
        .execution_options(populate_existing=True)
    )


async def role_of(db: AsyncSession, *, organization_id: int, user_id: int) -> OrgRole | None:
    """The user's role there as committed now (one primary-key read); None when not a member.

    Read with the organization locked, it stays so until this transaction ends.
    """
    role: OrgRole | None = await db.scalar(
        select(Membership.role).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
    return role


async def locked_with_role(
    db: AsyncSession, organization_id: int, actor_id: int
) -> tuple[Organization | None, OrgRole | None]:
    """The organization locked for the actor's change (lock_for_change), and their role there."""
    organization = await lock_for_change(db, organization_id, actor_id)
    if organization is None:
        return None, None
    return organization, await role_of(db, organization_id=organization_id, user_id=actor_id)
