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
from gql_auth.sessions import SignedIn, issue
from gql_auth.tokens import AccessTokenCodec, hash_token, is_plausible_token, new_refresh_token


async def refresh(
    db: AsyncSession, codec: AccessTokenCodec, *, refresh_token: str, client: ClientInfo
) -> SignedIn:
    """Swaps a refresh token for a new pair; the old one stops working.

    A token that was already rotated away is treated as stolen: the whole
    session is revoked, so the thief's and the owner's tokens both die.
    """
    token_hash = _hash_or_refuse(refresh_token)
    session_id = await db.scalar(
        select(AuthSession.id).where(AuthSession.refresh_token_hash == token_hash)
    )
    # Lock the row by primary key, then check the hash again: FOR UPDATE serialises
    # concurrent refreshes on MySQL (SQLite serialises writers anyway). Locking through
    # the unique hash index instead deadlocks on InnoDB, since the update rewrites it.
    session = None
    if session_id is not None:
        session = await db.scalar(
            select(AuthSession)
            .where(AuthSession.id == session_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    if session is None or session.refresh_token_hash != token_hash:
        await _refuse_unknown_or_reused(db, token_hash, client)
    user = await db.get(User, session.user_id)
    now = utcnow()
    if session.revoked_at is not None or user is None or not user.is_active:
        raise TokenRevoked
    if session.expires_at <= now:
        raise TokenExpired("The session has expired; sign in again.")
    new_token = new_refresh_token()
    # Compare-and-set on the old hash: of two concurrent refreshes, one wins.
    swapped = await db.execute(
        update(AuthSession)
        .where(AuthSession.id == session.id, AuthSession.refresh_token_hash == token_hash)
        .values(refresh_token_hash=hash_token(new_token), last_used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(swapped) != 1:
        await _refuse_unknown_or_reused(db, token_hash, client)
    db.add(RetiredRefreshToken(token_hash=token_hash, session_id=session.id, retired_at=now))
    audit.record(db, EventKind.TOKEN_REFRESHED, user_id=user.id, client=client)
    await db.flush()
    return issue(codec, user=user, session=session, refresh_token=new_token)


async def logout(db: AsyncSession, *, refresh_token: str, client: ClientInfo) -> None:
    """Revokes the token's session; unknown or already revoked is quietly fine."""
    if not is_plausible_token(refresh_token):
        return
    session = await _session_for_token(db, hash_token(refresh_token))
    if session is None or session.revoked_at is not None:
        return
    session.revoked_at = utcnow()
    audit.record(db, EventKind.LOGGED_OUT, user_id=session.user_id, client=client)


def _hash_or_refuse(refresh_token: str) -> str:
    if not is_plausible_token(refresh_token):
        raise TokenInvalid("The refresh token is invalid.")
    return hash_token(refresh_token)


async def _session_for_token(db: AsyncSession, token_hash: str) -> AuthSession | None:
    """The session a current or an already-rotated refresh token belongs to."""
    current = await db.scalar(
        select(AuthSession).where(AuthSession.refresh_token_hash == token_hash)
    )
    if current is not None:
        return current
    return await db.scalar(
        select(AuthSession)
        .join(RetiredRefreshToken, RetiredRefreshToken.session_id == AuthSession.id)
        .where(RetiredRefreshToken.token_hash == token_hash)
    )


async def _refuse_unknown_or_reused(
    db: AsyncSession, token_hash: str, client: ClientInfo
) -> NoReturn:
    # A locking read sees the latest commit, also a concurrent rotation's (not the snapshot).
    retired = await db.scalar(
        select(RetiredRefreshToken)
        .where(RetiredRefreshToken.token_hash == token_hash)
        .with_for_update()
    )
    if retired is None:
        raise TokenInvalid("The refresh token is invalid.")
    session = await db.get(AuthSession, retired.session_id)
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()
        audit.record(db, EventKind.REFRESH_TOKEN_REUSED, user_id=session.user_id, client=client)
    raise TokenRevoked("This refresh token was already used; the session has been revoked.")
