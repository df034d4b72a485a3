"""Webhook endpoints: created, changed, deleted and given new secrets by ADMINs and operators."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.database import savepoint
from gql_auth.core.errors import Conflict, InvalidInput, OutOfRange, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.security.secret_box import SecretBox
from gql_auth.webhooks import addresses
from gql_auth.webhooks.addresses import UnsafeUrl
from gql_auth.webhooks.events import EventType
from gql_auth.webhooks.models import WebhookDelivery, WebhookEndpoint
from gql_auth.webhooks.signing import new_secret, sealing_context

ROTATION_OVERLAP = timedelta(hours=24)  # the old secret signs beside the new one this long
MAX_DELIVERIES_LISTED = 100
_KNOWN_TYPES = frozenset(event_type.value for event_type in EventType)


@dataclass(frozen=True, slots=True)
class Policy:
    """What the settings allow, as the operations here take it."""

    allow_private: bool
    max_endpoints: int
    lookup_timeout: float  # seconds to resolve a name at creation


@dataclass(frozen=True, slots=True)
class WithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once, never stored in clear


async def create(
    db: AsyncSession,
    *,
    url: str,
    event_types: Sequence[str],
    box: SecretBox,
    policy: Policy,
) -> WithSecret:
    await checked_url(url, policy=policy)
    types = subscribed(event_types)
    taken = set((await db.scalars(select(WebhookEndpoint.slot))).all())
    secret = new_secret()
    for slot in range(policy.max_endpoints):
        if slot in taken:
            continue
        endpoint = WebhookEndpoint(slot=slot, url=url, event_types=types, enabled=True, secret="")
        try:
            # A parallel creation that took this place first fails only this savepoint.
            async with savepoint(db):
                db.add(endpoint)
                await db.flush()
        except IntegrityError:
            continue
        endpoint.secret = box.seal(secret, context=sealing_context(endpoint.id))
        await db.flush()
        return WithSecret(endpoint, secret)
    raise Conflict(
        Reason.LIMIT_REACHED,
        f"There are already {policy.max_endpoints} webhook endpoints (WEBHOOK_MAX_ENDPOINTS).",
    )


async def update(
    db: AsyncSession,
    *,
    endpoint_id: int,
    url: str | None,
    event_types: Sequence[str] | None,
    enabled: bool | None,
    policy: Policy,
) -> WebhookEndpoint:
    if url is not None:
        await checked_url(url, policy=policy)
    types = None if event_types is None else subscribed(event_types)
    endpoint = await _locked(db, endpoint_id)
    if url is not None:
        endpoint.url = url
    if types is not None:
        endpoint.event_types = types
    if enabled is not None:
        if enabled and not endpoint.enabled:
            endpoint.failing_since = None  # a fresh start: days of failure count from now
        endpoint.enabled = enabled
    await db.flush()
    return endpoint


async def delete(db: AsyncSession, *, endpoint_id: int) -> bool:
    """True when it existed; its queued attempts go with it."""
    endpoint = await db.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        return False
    await db.delete(endpoint)
    await db.flush()
    return True


async def rotate_secret(db: AsyncSession, *, endpoint_id: int, box: SecretBox) -> WithSecret:
    """A new secret; the current one keeps signing beside it for ROTATION_OVERLAP."""
    endpoint = await _locked(db, endpoint_id)
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = utcnow() + ROTATION_OVERLAP
    endpoint.secret = box.seal(secret, context=sealing_context(endpoint.id))
    await db.flush()
    return WithSecret(endpoint, secret)


async def all_endpoints(db: AsyncSession) -> Sequence[WebhookEndpoint]:
    return (await db.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))).all()


async def deliveries(
    db: AsyncSession, *, endpoint_id: int, first: int
) -> Sequence[WebhookDelivery]:
    """The endpoint's newest attempts first (queued ones included)."""
    if not 1 <= first <= MAX_DELIVERIES_LISTED:
        raise OutOfRange(Subject.PAGE_SIZE, minimum=1, maximum=MAX_DELIVERIES_LISTED)
    return (
        await db.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(first)
        )
    ).all()


def subscribed(event_types: Sequence[str]) -> str:
    """The stored form of a subscription: known types, each once; empty means every type."""
    unknown = sorted(set(event_types) - _KNOWN_TYPES)
    if unknown:
        raise InvalidInput(
            Subject.EVENT_TYPES,
            Reason.UNKNOWN_EVENT_TYPE,
            f"Unknown event type {unknown[0]!r}: see webhookEventTypes.",
        )
    return " ".join(sorted(set(event_types)))


async def checked_url(url: str, *, policy: Policy) -> None:
    """Well formed, and (unless private URLs are allowed) https on public addresses only."""
    try:
        target = addresses.parse(url, allow_private=policy.allow_private)
        if not policy.allow_private:
            async with asyncio.timeout(policy.lookup_timeout):
                await addresses.resolve(target, allow_private=False)
    except UnsafeUrl as refused:
        raise InvalidInput(Subject.URL, Reason(refused.reason), str(refused)) from None
    except TimeoutError:
        raise InvalidInput(
            Subject.URL, Reason.UNRESOLVABLE, "The URL's host name did not resolve in time."
        ) from None


async def _locked(db: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await db.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        raise InvalidInput(Subject.ITEM_ID, Reason.NOT_FOUND, "No such webhook endpoint.")
    return endpoint
