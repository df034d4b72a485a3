"""Refresh-token rotation with reuse detection, and logout by refresh token."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth import audit
from gql_auth.audit import ClientInfo, EventKind
from gql_auth.db import rowcount
from gql_auth.errors import TokenExpired, TokenInvalid, TokenRevoked
from gql_auth.models import AuthSession, RetiredRefreshToken, User, utcnow
from gql_auth.sessions import SignedIn, issue, lock_user
from gql_auth.tokens import AccessTokenCodec, hash_token, is_plausible_token, new_refresh_token


async def refresh(
    db: AsyncSession, codec: AccessTokenCodec, *, refresh_token: str, client: ClientInfo
) -> SignedIn:
    """Swaps a refresh token for a new pair; the old one stops working.

    A token that was already rotated away is treated as stolen: the whole
    session is revoked, so the thief's and the owner's tokens both die.
    """
    token_hash = _hash_or_refuse(refresh_token)
    session = await _lock_session_of(db, token_hash)
    if session is None:
        raise TokenInvalid("The refresh token is invalid.")
    if session.refresh_token_hash != token_hash:
        _revoke_for_reuse(db, session, client)
    user = await db.get(User, session.user_id)
    now = utcnow()
    if session.revoked_at is not None or user is None or not user.is_active:
        raise TokenRevoked
    if session.expires_at <= now:
        raise TokenExpired("The session has expired; sign in again.")
    new_token = new_refresh_token()
    # Compare-and-set on the old hash as well as the lock: of two refreshes, one wins.
    swapped = await db.execute(
        update(AuthSession)
        .where(AuthSession.id == session.id, AuthSession.refresh_token_hash == token_hash)
        .values(refresh_token_hash=hash_token(new_token), last_used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(swapped) != 1:
        _revoke_for_reuse(db, session, client)
    db.add(RetiredRefreshToken(token_hash=token_hash, session_id=session.id, retired_at=now))
    audit.record(db, EventKind.TOKEN_REFRESHED, user_id=user.id, client=client)
    await db.flush()
    return issue(codec, user=user, session=session, refresh_token=new_token)


async def logout(db: AsyncSession, *, refresh_token: str, client: ClientInfo) -> None:
    """Revokes the token's session; unknown or already revoked is quietly fine."""
    if not is_plausible_token(refresh_token):
        return
    session = await _lock_session_of(db, hash_token(refresh_token))
    if session is None or session.revoked_at is not None:
        return
    session.revoked_at = utcnow()
    audit.record(db, EventKind.LOGGED_OUT, user_id=session.user_id, client=client)


def _hash_or_refuse(refresh_token: str) -> str:
    if not is_plausible_token(refresh_token):
        raise TokenInvalid("The refresh token is invalid.")
    return hash_token(refresh_token)


async def _lock_session_of(db: AsyncSession, token_hash: str) -> AuthSession | None:
    """The session a current or an already-rotated token belongs to, locked, as committed now.

    Plain reads find it (current hash first, then the retired ones); then the
    user and the session row are locked, always in that order (see
    sessions.lock_user), and the session is read again: a locking read sees
    the latest commit, e.g. a parallel rotation's new hash. Whatever the
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


def _revoke_for_reuse(db: AsyncSession, session: AuthSession, client: ClientInfo) -> NoReturn:
    # The session row is locked and fresh: of parallel replays, one records the event.
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        audit.record(db, EventKind.REFRESH_TOKEN_REUSED, user_id=session.user_id, client=client)
    raise TokenRevoked("This refresh token was already used; the session has been revoked.")
