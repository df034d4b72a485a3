"""The delivery queue in the database: claiming due attempts, and recording how they went.

A worker claims due PENDING attempts by moving them to the end of a lease
under a token of its own; two workers (processes, hosts) never claim one
attempt, and an attempt whose worker died is due again when its lease ends.
Recording is a compare-and-set on that token: a worker whose lease ran out
records nothing over the one that took the attempt over.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.database import rowcount
from gql_auth.core.models import utcnow
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType
from gql_auth.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from gql_auth.webhooks.sender import Message, Outcome

logger = logging.getLogger("gql_auth.webhooks")

_PENDING = DeliveryStatus.PENDING.value


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    claim: str
    attempt: int
    endpoint_id: int
    url: str
    sealed_secret: str
    sealed_previous_secret: str | None  # while a rotation keeps it signing
    message: Message


@dataclass(frozen=True, slots=True)
class Backlog:
    due: int
    oldest_due_seconds: float


async def any_due(db: AsyncSession) -> bool:
    """A plain read, before claiming: an idle queue costs no write and takes no lock."""
    return (await db.scalar(_due(utcnow()).limit(1))) is not None


async def claim_due(db: AsyncSession, *, limit: int, lease: timedelta) -> list[Claimed]:
    """Up to `limit` due attempts of enabled endpoints, oldest first, leased to this caller."""
    now = utcnow()
    token = secrets.token_hex(16)
    due = _due(now).order_by(WebhookDelivery.due_at, WebhookDelivery.id).limit(limit)
    lease_on = update(WebhookDelivery).values(claim=token, due_at=now + lease)
    lease_on = lease_on.execution_options(synchronize_session=False)
    if db.get_bind().dialect.name == "sqlite":
        # One writing statement: SQLite's single writer claims it whole, and a read
        # first would have to be upgraded to a write (busy in WAL mode).
        await db.execute(lease_on.where(WebhookDelivery.id.in_(due.scalar_subquery())))
    else:
        # Rows another worker holds are skipped, not waited for.
        ids = (await db.scalars(due.with_for_update(skip_locked=True))).all()
        if not ids:
            return []
        await db.execute(
            lease_on.where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == _PENDING)
        )
    rows = (
        await db.execute(
            select(WebhookDelivery, WebhookEvent, WebhookEndpoint)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.claim == token)
            .order_by(WebhookDelivery.id)
        )
    ).all()
    return [_claimed(delivery, event, endpoint, token, now) for delivery, event, endpoint in rows]


def _due(now: datetime) -> Select[int]:
    return select(WebhookDelivery.id).where(*_due_at(now))


def _due_at(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """PENDING attempts of enabled endpoints whose time has come (or whose lease ran out)."""
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    return (
        WebhookDelivery.status == _PENDING,
        WebhookDelivery.due_at <= now,
        WebhookDelivery.endpoint_id.in_(enabled),
    )


def _claimed(
    delivery: WebhookDelivery,
    event: WebhookEvent,
    endpoint: WebhookEndpoint,
    token: str,
    now: datetime,
) -> Claimed:
    until = endpoint.previous_secret_until
    previous = endpoint.previous_secret if until is not None and until > now else None
    return Claimed(
        delivery_id=delivery.id,
        claim=token,
        attempt=delivery.attempt,
        endpoint_id=endpoint.id,
        url=endpoint.url,
        sealed_secret=endpoint.secret,
        sealed_previous_secret=previous,
        message=Message(
            event_id=event.id,
            event_type=event.type,
            occurred_at=event.created_at,
            data=event.data,
        ),
    )


async def record(
    db: AsyncSession,
    claimed: Claimed,
    outcome: Outcome,
    *,
    retry_waits: tuple[timedelta, ...],
    disable_after: timedelta,
) -> bool:
    """Records the attempt, queues the next one after a failure; False if the lease was lost."""
    now = utcnow()
    status = DeliveryStatus.SUCCEEDED if outcome.delivered else DeliveryStatus.FAILED
    result = await db.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claimed.delivery_id,
            WebhookDelivery.claim == claimed.claim,
            WebhookDelivery.status == _PENDING,
        )
        .values(
            status=status.value,
            claim=None,
            attempted_at=now,
            response_status=outcome.response_status,
            error=None if outcome.error is None else outcome.error[:255],
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False  # taken over after the lease ended, or the endpoint was deleted
    if outcome.delivered:
        await db.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id == claimed.endpoint_id,
                WebhookEndpoint.failing_since.is_not(None),
            )
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )
        return True
    if claimed.attempt <= len(retry_waits):
        db.add(
            outbox.queued_attempt(
                claimed.message.event_id,
                claimed.endpoint_id,
                attempt=claimed.attempt + 1,
                due_at=now + retry_waits[claimed.attempt - 1],
            )
        )
    await _note_failure(db, claimed.endpoint_id, now=now, disable_after=disable_after)
    return True


async def _note_failure(
    db: AsyncSession, endpoint_id: int, *, now: datetime, disable_after: timedelta
) -> None:
    endpoint = await db.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        return
    if endpoint.enabled and endpoint.failing_since <= now - disable_after:
        endpoint.enabled = False
        logger.warning(
            "webhook endpoint %s disabled: every attempt has failed since %s",
            endpoint.id,
            endpoint.failing_since.isoformat(),
        )
        await outbox.emit(
            db,
            EventType.ENDPOINT_DISABLED,
            {
                "id": str(endpoint.id),
                "url": endpoint.url,
                "failingSince": endpoint.failing_since.isoformat().replace("+00:00", "Z"),
            },
        )


async def reseal(db: AsyncSession, *, endpoint_id: int, sealed: str, resealed: str) -> None:
    """Stores a secret sealed again under the current SECRET_KEY, unless it changed meanwhile."""
    await db.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.secret == sealed)
        .values(secret=resealed)
        .execution_options(synchronize_session=False)
    )


async def backlog(db: AsyncSession) -> Backlog:
    """Due attempts of enabled endpoints, and how long the oldest has waited (metrics)."""
    now = utcnow()
    count, oldest = (
        await db.execute(
            select(func.count(), func.min(WebhookDelivery.due_at)).where(*_due_at(now))
        )
    ).one()
    waited = (now - oldest).total_seconds() if oldest is not None else 0.0
    return Backlog(due=int(count), oldest_due_seconds=max(waited, 0.0))
