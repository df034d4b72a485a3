"""A session's row lock, after its user's: the one lock order is user, session, retired tokens.

Whatever changes a user's sessions locks through here (and gql_auth.users.locks
first), so parallel sign-ins, refreshes, replays and logouts take turns instead
of deadlocking.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.sessions.models import AuthSession, RetiredRefreshToken
from gql_auth.users.locks import lock_user


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
