"""Ending sign-in sessions: logout, logout everywhere, revoking them all, the cap, pruning.

A session ends by revocation (its row stays until it expires, so a stolen
token presented late meets a revoked session) or by expiry (then pruning
deletes it). Every ending takes the user's row lock first (gql_auth.users.locks).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import rowcount
from gql_auth.core.models import utcnow
from gql_auth.security.tokens import hash_token, is_plausible_token
from gql_auth.sessions.locks import lock_session_of_token
from gql_auth.sessions.models import AuthSession
from gql_auth.users.locks import lock_user
from gql_auth.users.models import User
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, SessionEnd, session_data


async def logout_everywhere(db: AsyncSession, *, user_id: int, client: ClientInfo) -> int:
    """The user ends every session of theirs, the current one too; returns how many."""
    revoked = await revoke_all(db, user_id=user_id, reason=SessionEnd.LOGOUT_ALL)
    audit.record(db, EventKind.LOGGED_OUT, user_id=user_id, client=client)
    return revoked


async def logout(db: AsyncSession, *, refresh_token: str, client: ClientInfo) -> None:
    """Revokes the token's session; unknown or already revoked is quietly fine."""
    if not is_plausible_token(refresh_token):
        return
    session = await lock_session_of_token(db, hash_token(refresh_token))
    if session is None or session.revoked_at is not None:
        return
    session.revoked_at = utcnow()
    audit.record(db, EventKind.LOGGED_OUT, user_id=session.user_id, client=client)
    await announce_revoked(db, user_id=session.user_id, ids=[session.id], reason=SessionEnd.LOGOUT)


async def revoke_all(db: AsyncSession, *, user_id: int, reason: SessionEnd) -> int:
    """Revokes every live session of a user at once; returns how many."""
    await lock_user(db, user_id)
    now = utcnow()
    # Under the user's lock no session of theirs starts or ends: these are all of them.
    live = (
        await db.scalars(
            select(AuthSession.id).where(AuthSession.user_id == user_id, *live_at(now))
        )
    ).all()
    if not live:
        return 0
    result = await db.execute(
        update(AuthSession)
        .where(AuthSession.id.in_(live), *live_at(now))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await announce_revoked(db, user_id=user_id, ids=live, reason=reason)
    return rowcount(result)


async def announce_revoked(
    db: AsyncSession, *, user_id: int, ids: Sequence[str], reason: SessionEnd
) -> None:
    """A `session.revoked` webhook event per session, in the transaction that revoked them."""
    user = await db.get(User, user_id)
    if user is not None and ids:
        await outbox.emit(
            db,
            EventType.SESSION_REVOKED,
            *(session_data(user, session_id, reason=reason.value) for session_id in ids),
        )


async def revoke_oldest(db: AsyncSession, *, user_id: int, keep: int) -> int:
    """Revokes the user's live sessions beyond the newest `keep`; returns how many.

    The caller holds the user's row lock, so parallel sign-ins cannot both
    find room under the cap.
    """
    now = utcnow()
    # A locking read sees the latest commit (a parallel sign-in's too), not the snapshot.
    live = (
        await db.scalars(
            select(AuthSession.id)
            .where(AuthSession.user_id == user_id, *live_at(now))
            .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
            .with_for_update()
        )
    ).all()
    oldest = live[keep:]
    if oldest:
        await db.execute(
            update(AuthSession)
            .where(AuthSession.id.in_(oldest))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        await announce_revoked(db, user_id=user_id, ids=oldest, reason=SessionEnd.SESSION_LIMIT)
    return len(oldest)


async def prune_expired(db: AsyncSession, *, user_id: int | None = None) -> int:
    """Deletes expired sessions (their retired tokens go with them).

    Revoked sessions are kept until they expire, so a stolen token presented
    late still meets a revoked session rather than an unknown one.
    """
    statement = delete(AuthSession).where(AuthSession.expires_at <= utcnow())
    if user_id is not None:
        statement = statement.where(AuthSession.user_id == user_id)
    result = await db.execute(statement.execution_options(synchronize_session=False))
    return rowcount(result)


def live_at(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """SQL twin of AuthSession.is_live: not ended, neither revoked nor yet expired."""
    return (AuthSession.revoked_at.is_(None), AuthSession.expires_at > now)
