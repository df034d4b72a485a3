"""The user's row lock, first in the one lock order (user, session, retired tokens).

Whatever changes a user's sessions, second factors or mailed tokens locks the
user here first; gql_auth.sessions.locks goes on from there.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.users.models import User


async def lock_user(db: AsyncSession, user_id: int) -> None:
    """The user's row lock; whatever changes a user's sessions or mailed tokens takes it first.

    One order everywhere (user, then session, then retired tokens) keeps
    parallel sign-ins, refreshes, replays and logouts from deadlocking. A
    write that changes nothing locks on both backends, where FOR UPDATE would
    do nothing on SQLite. Take it before the transaction inserts any row that
    refers to the user: that insert holds a shared lock, and two transactions
    upgrading their shared locks deadlock.
    """
    await db.execute(
        update(User)
        .where(User.id == user_id)
        .values(is_active=User.is_active)
        .execution_options(synchronize_session=False)
    )


async def still_as_checked(db: AsyncSession, *, user_id: int, password_hash: str | None) -> bool:
    """Under the user's row lock (taken here): active, and with the password hash that was checked.

    A check made before the lock is made again under it: a sign-in or a
    re-authentication whose password was changed, reset or whose account was
    deactivated since its hash ran must not go on. None checks only the flag
    (a passkey sign-in checked no password).
    """
    await lock_user(db, user_id)
    await db.flush()  # this transaction's own writes first (a new hash it just set)
    row = (
        await db.execute(select(User.password_hash, User.is_active).where(User.id == user_id))
    ).first()
    if row is None or not row.is_active:
        return False
    return password_hash is None or row.password_hash == password_hash
