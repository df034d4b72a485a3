"""What `gql-auth prune` deletes, so no table grows without end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Delete, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.api_keys import keys
from gql_auth.audit.models import SecurityEvent
from gql_auth.core.database import rowcount
from gql_auth.core.models import utcnow
from gql_auth.factors.models import MfaChallenge
from gql_auth.orgs import invitations
from gql_auth.sessions.models import AuthSession, RetiredRefreshToken
from gql_auth.social import flow
from gql_auth.webhooks import outbox

# Expired social sign-in states deleted per statement.
STATE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Pruned:
    sessions: int
    retired_tokens: int
    security_events: int
    mfa_challenges: int
    social_states: int
    invitations: int
    api_keys: int
    webhook_events: int


async def prune(
    db: AsyncSession, *, event_retention: timedelta, webhook_retention: timedelta
) -> Pruned:
    """Deletes expired sessions with their retired tokens, orphaned retired tokens, old events,
    the mfaTokens of sign-ins never finished (expired after five minutes), the states of
    social sign-ins never finished (ten minutes), invitations past their expiry, and API
    keys revoked or expired longer ago than events are kept, and webhook events older than
    WEBHOOK_EVENT_RETENTION_DAYS whose deliveries have all ended.

    Revoked sessions that have not expired stay (sessions.endings.prune_expired says
    why), and so do their retired tokens: replaying one must still revoke.
    """
    now = utcnow()
    expired = select(AuthSession.id).where(AuthSession.expires_at <= now)
    # Counted here rather than left to ON DELETE CASCADE, which reports nothing.
    of_expired = await _delete(
        db, delete(RetiredRefreshToken).where(RetiredRefreshToken.session_id.in_(expired))
    )
    sessions = await _delete(db, delete(AuthSession).where(AuthSession.expires_at <= now))
    # Rows a connection without foreign keys (SQLite's default) left behind.
    orphaned = await _delete(
        db,
        delete(RetiredRefreshToken).where(
            ~exists().where(AuthSession.id == RetiredRefreshToken.session_id)
        ),
    )
    events = await _delete(
        db, delete(SecurityEvent).where(SecurityEvent.at < now - event_retention)
    )
    challenges = await _delete(db, delete(MfaChallenge).where(MfaChallenge.expires_at <= now))
    # Social sign-ins never finished (each beginSocialSignIn drops a batch too), by id.
    states = 0
    while dropped := await flow.prune_expired(db, batch=STATE_BATCH):
        states += dropped
    invited = 0
    while dropped := await invitations.prune_expired(db, batch=STATE_BATCH):
        invited += dropped
    # Keys revoked or expired longer ago than events are kept: their history has gone too.
    ended_keys = await keys.prune_ended(db, before=now - event_retention)
    webhook_events = 0
    while dropped := await outbox.prune_delivered(db, before=now - webhook_retention):
        webhook_events += dropped
    return Pruned(
        sessions=sessions,
        retired_tokens=of_expired + orphaned,
        security_events=events,
        mfa_challenges=challenges,
        social_states=states,
        invitations=invited,
        api_keys=ended_keys,
        webhook_events=webhook_events,
    )


async def _delete(db: AsyncSession, statement: Delete) -> int:
    result = await db.execute(statement.execution_options(synchronize_session=False))
    return rowcount(result)
