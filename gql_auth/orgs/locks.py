"""The organization's row lock: every change to its members or invitations takes it.

The one lock order, extending users.locks': the users whose rows the change
refers to (the one whose membership is written, and the one acting, whom its
security event names), in id order, then the organization, then its membership
rows, then sessions. With the organization locked, changes to one
organization's members take turns: two owners demoting each other at once
cannot both see the other one still there.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.database import rowcount
from gql_auth.orgs.models import Membership, Organization, OrgRole
from gql_auth.users.locks import lock_user


async def lock_users(db: AsyncSession, *user_ids: int) -> None:
    """The users' row locks, before the organization's: in ascending id, whatever the order given.

    A change to an organization inserts rows that refer to users (a membership,
    the actor's security event, an invitation naming its inviter), and each such
    insert takes a shared lock on that user's row. Taken after the organization's
    lock, it waited on a transaction holding the user's row and waiting for the
    organization (the actor's own switchOrganization): MariaDB found a deadlock.
    In id order, two transactions locking the same two users take turns too.
    """
    for user_id in sorted(set(user_ids)):
        await lock_user(db, user_id)


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


async def role_under_lock(
    db: AsyncSession, *, organization_id: int, user_id: int
) -> OrgRole | None:
    """A member's role as committed now; call it with the organization locked."""
    role: OrgRole | None = await db.scalar(
        select(Membership.role).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
    return role
