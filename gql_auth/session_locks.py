"""The one lock order of a user's sessions and mailed tokens: user, session, retired tokens.

Whatever changes a user's sessions, second factors or mailed tokens locks
through here, so parallel sign-ins, refreshes, replays and logouts take turns
instead of deadlocking.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.models import AuthSession, RetiredRefreshToken, User


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


async def lock_session_of_token(db: AsyncSession, token_hash: str) -> AuthSession | None:
    """The session a current or an already-rotated token belongs to, locked, as committed now.

    Plain reads find it (current hash first, then the retired ones); then the
    user and the session row are locked, always in that order (see lock_user),
    and the session is read again: a locking read sees the latest commit,
    e.g. a parallel rotation's new hash. Whatever the
    snapshot showed, the token belonged to this session, so a hash that no
    longer matches means the token was rotated away.
    """
    found = (
        await db.execute(
            select(AuthSession.id, AuthSession.user_id).where(
                AuthSession.refresh_token_hash == token_hash
            )
        )
    ).first()
    if found is None:
        found = (
            await db.execute(
                select(AuthSession.id, AuthSession.user_id)
                .join(RetiredRefreshToken, RetiredRefreshToken.session_id == AuthSession.id)
                .where(RetiredRefreshToken.token_hash == token_hash)
            )
        ).first()
    if found is None:
        return None
    await lock_user(db, found.user_id)
    # By primary key: locking through the unique hash index deadlocks on InnoDB,
    # since the rotation rewrites that index.
    return await db.scalar(
        select(AuthSession)
        .where(AuthSession.id == found.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
