"""Refresh-token rotation with reuse detection."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import rowcount
from gql_auth.core.errors import TokenExpired, TokenInvalid, TokenRevoked
from gql_auth.core.models import utcnow
from gql_auth.security.tokens import (
    AccessTokenCodec,
    hash_token,
    is_plausible_token,
    new_refresh_token,
)
from gql_auth.sessions import active_organization, endings
from gql_auth.sessions.locks import lock_session_of_token
from gql_auth.sessions.models import AuthSession, RetiredRefreshToken
from gql_auth.sessions.sessions import SignedIn, issue
from gql_auth.users.models import User
from gql_auth.webhooks.events import SessionEnd


async def refresh(
    db: AsyncSession, codec: AccessTokenCodec, *, refresh_token: str, client: ClientInfo
) -> SignedIn:
    """Swaps a refresh token for a new pair; the old one stops working.

    A token that was already rotated away is treated as stolen: the whole
    session is revoked, so the thief's and the owner's tokens both die.
    """
    token_hash = _hash_or_refuse(refresh_token)
    session = await lock_session_of_token(db, token_hash)
    if session is None:
        raise TokenInvalid("The refresh token is invalid.")
    if session.refresh_token_hash != token_hash:
        await _revoke_for_reuse(db, session, client)
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
        await _revoke_for_reuse(db, session, client)
    db.add(RetiredRefreshToken(token_hash=token_hash, session_id=session.id, retired_at=now))
    audit.record(db, EventKind.TOKEN_REFRESHED, user_id=user.id, client=client)
    await db.flush()
    org_role = await active_organization.role_in_active(db, session)
    return issue(codec, user=user, session=session, refresh_token=new_token, org_role=org_role)


def _hash_or_refuse(refresh_token: str) -> str:
    if not is_plausible_token(refresh_token):
        raise TokenInvalid("The refresh token is invalid.")
    return hash_token(refresh_token)


async def _revoke_for_reuse(db: AsyncSession, session: AuthSession, client: ClientInfo) -> NoReturn:
    # The session row is locked and fresh: of parallel replays, one records the event.
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        audit.record(db, EventKind.REFRESH_TOKEN_REUSED, user_id=session.user_id, client=client)
        await endings.announce_revoked(
            db, user_id=session.user_id, ids=[session.id], reason=SessionEnd.REFRESH_TOKEN_REUSED
        )
    raise TokenRevoked("This refresh token was already used; the session has been revoked.")
