"""Server-side sign-in sessions: opening them, checking them on every request, ending them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth import audit
from gql_auth.audit import EventKind
from gql_auth.client_info import ClientInfo
from gql_auth.db import rowcount
from gql_auth.models import AuthSession, RetiredRefreshToken, User, utcnow
from gql_auth.tokens import (
    AccessTokenCodec,
    hash_token,
    is_plausible_token,
    new_refresh_token,
    new_session_id,
)

logger = logging.getLogger("gql_auth.sessions")

# lastUsedAt is a hint for people, not an audit log: one write a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """What a client receives when a session starts or rotates."""

    access_token: str
    expires_in: int
    refresh_token: str
    user: User
    session: AuthSession


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated caller: the user as the database has it now, and the session."""

    user: User
    session: AuthSession


async def start(
    db: AsyncSession,
    codec: AccessTokenCodec,
    *,
    user: User,
    client: ClientInfo,
    lifetime: timedelta,
    max_sessions: int,
    amr: Sequence[str],
) -> SignedIn:
    """Opens a session for a user who just proved who they are, with `amr` saying how.

    Beyond `max_sessions` live sessions the oldest are revoked, so no account
    (or whoever holds its password) can pile up sessions without end. The
    methods (RFC 8176: pwd, otp, hwk, ...) stay on the session row, so every
    access token rotation issues carries them, and permissions read them there.
    """
    await lock_user(db, user.id)  # parallel sign-ins of one user take turns: the cap holds
    await prune_expired(db, user_id=user.id)  # keeps the table bounded per user
    revoked = await _revoke_oldest(db, user_id=user.id, keep=max_sessions - 1)  # room for this one
    if revoked:
        logger.info("user %s is over MAX_SESSIONS_PER_USER: revoking %d", user.id, revoked)
    refresh_token = new_refresh_token()
    now = utcnow()
    session = AuthSession(
        id=new_session_id(),
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
        user_agent=client.user_agent,
        ip_address=client.ip_address,
        refresh_token_hash=hash_token(refresh_token),
        amr=" ".join(amr),
    )
    db.add(session)
    await db.flush()
    return issue(codec, user=user, session=session, refresh_token=refresh_token)


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


async def _revoke_oldest(db: AsyncSession, *, user_id: int, keep: int) -> int:
    """Revokes the user's live sessions beyond the newest `keep`; returns how many."""
    now = utcnow()
    # A locking read sees the latest commit (a parallel sign-in's too), not the snapshot.
    live = (
        await db.scalars(
            select(AuthSession.id)
            .where(AuthSession.user_id == user_id, *_live_at(now))
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
    return len(oldest)


def issue(
    codec: AccessTokenCodec, *, user: User, session: AuthSession, refresh_token: str
) -> SignedIn:
    access = codec.issue(
        user_id=user.id, session_id=session.id, role=user.role.value, amr=session.methods
    )
    return SignedIn(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh_token,
        user=user,
        session=session,
    )


async def active_sessions(db: AsyncSession, *, user_id: int) -> Sequence[AuthSession]:
    """The user's live sessions, newest first."""
    statement = (
        select(AuthSession)
        .where(AuthSession.user_id == user_id, *_live_at(utcnow()))
        .order_by(AuthSession.created_at.desc())
    )
    return (await db.scalars(statement)).all()


async def logout_everywhere(db: AsyncSession, *, user_id: int, client: ClientInfo) -> int:
    """The user ends every session of theirs, the current one too; returns how many."""
    revoked = await revoke_all(db, user_id=user_id)
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


async def revoke_all(db: AsyncSession, *, user_id: int) -> int:
    """Revokes every live session of a user at once; returns how many."""
    await lock_user(db, user_id)
    now = utcnow()
    result = await db.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, *_live_at(now))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


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


async def count_live(db: AsyncSession) -> int:
    statement = select(func.count()).where(*_live_at(utcnow()))
    return int(await db.scalar(statement) or 0)


def _live_at(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """SQL twin of AuthSession.is_live: not revoked and not yet expired."""
    return (AuthSession.revoked_at.is_(None), AuthSession.expires_at > now)
