"""The outbox: an event is written in the transaction of the change it reports.

So a rolled-back change sends nothing, and a committed one is delivered
whatever crashes afterwards: the delivery worker (worker.py) picks up every
committed PENDING attempt, in this process or any other.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.database import rowcount
from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.webhooks.events import Data, EventType
from gql_auth.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

_EMITTED = "gql_auth.webhooks.emitted"  # the key in Session.info
_EVENT_ID = re.compile(r"msg_[A-Za-z0-9_-]{1,36}")  # what new_event_id makes


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)  # 144 random bits; the webhook-id header


async def emit(db: AsyncSession, event_type: EventType, *each: Data) -> None:
    """One event per `data`, each queued for every enabled endpoint that subscribes to it."""
    if not each:
        return
    subscribers = await _subscribers(db, event_type.value)
    now = utcnow()
    events = [
        WebhookEvent(id=new_event_id(), type=event_type.value, data=_encoded(data), created_at=now)
        for data in each
    ]
    db.add_all(events)
    if subscribers:
        await db.flush()  # the events before the attempts that refer to them
        db.add_all(
            queued_attempt(event.id, endpoint_id, attempt=1, due_at=now)
            for event in events
            for endpoint_id in subscribers
        )
    db.info[_EMITTED] = True


def emitted(db: AsyncSession) -> bool:
    """Whether this session queued events: once committed, the worker is woken for them."""
    return bool(db.info.get(_EMITTED))


async def redeliver(db: AsyncSession, *, event_id: str) -> int:
    """Queues the event again for every enabled endpoint subscribing to it; how many."""
    event = await db.get(WebhookEvent, event_id) if _EVENT_ID.fullmatch(event_id) else None
    if event is None:
        raise InvalidInput(Subject.EVENT_ID, Reason.NOT_FOUND, "No such webhook event.")
    now = utcnow()
    queued = [
        queued_attempt(event.id, endpoint_id, attempt=1, due_at=now)
        for endpoint_id in await _subscribers(db, event.type)
    ]
    db.add_all(queued)
    db.info[_EMITTED] = True
    return len(queued)


async def prune_delivered(db: AsyncSession, *, before: datetime, batch: int = 1000) -> int:
    """Deletes up to `batch` events older than `before` with no attempt still PENDING."""
    pending = exists().where(
        WebhookDelivery.event_id == WebhookEvent.id,
        WebhookDelivery.status == DeliveryStatus.PENDING.value,
    )
    ids = (
        await db.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.created_at < before, ~pending)
            .order_by(WebhookEvent.created_at)
            .limit(batch)
        )
    ).all()
    if not ids:
        return 0
    # Asked again in the DELETE: a redelivery queued since the read keeps its event.
    result = await db.execute(
        delete(WebhookEvent)
        .where(WebhookEvent.id.in_(ids), ~pending)
        .execution_options(synchronize_session=False)
    )
    # Their attempts went by ON DELETE CASCADE; a connection without foreign keys leaves them.
    await db.execute(
        delete(WebhookDelivery)
        .where(
            WebhookDelivery.event_id.in_(ids),
            ~exists().where(WebhookEvent.id == WebhookDelivery.event_id),
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def queued_attempt(
    event_id: str, endpoint_id: int, *, attempt: int, due_at: datetime
) -> WebhookDelivery:
    """An attempt waiting in the queue: the first of an event, or the retry after a failure."""
    return WebhookDelivery(
        event_id=event_id,
        endpoint_id=endpoint_id,
        attempt=attempt,
        status=DeliveryStatus.PENDING.value,
        due_at=due_at,
    )


async def _subscribers(db: AsyncSession, event_type: str) -> list[int]:
    """The enabled endpoints that subscribe to this type, by id (an empty list: every type)."""
    rows = await db.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types)
        .where(WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookEndpoint.id)
    )
    return [row.id for row in rows if not row.event_types or event_type in row.event_types.split()]


def _encoded(data: Data) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


async def types_of(db: AsyncSession, event_ids: set[str]) -> dict[str, str]:
    if not event_ids:
        return {}
    rows = await db.execute(
        select(WebhookEvent.id, WebhookEvent.type).where(WebhookEvent.id.in_(event_ids))
    )
    return {row.id: row.type for row in rows}
