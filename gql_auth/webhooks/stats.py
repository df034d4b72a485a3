"""How each endpoint's deliveries stand, for operators (`gql-auth webhooks`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


@dataclass(frozen=True, slots=True)
class EndpointStats:
    endpoint: WebhookEndpoint
    pending: int  # queued, due later, or being sent
    succeeded: int
    failed: int  # attempts, each failed retry counted once


async def endpoint_stats(db: AsyncSession) -> list[EndpointStats]:
    """Every endpoint, oldest first, with its attempts counted by status."""
    endpoints = (await db.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))).all()
    counted = await db.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.status
        )
    )
    counts = {(endpoint_id, status): int(count) for endpoint_id, status, count in counted.all()}
    return [
        EndpointStats(
            endpoint=endpoint,
            pending=counts.get((endpoint.id, DeliveryStatus.PENDING.value), 0),
            succeeded=counts.get((endpoint.id, DeliveryStatus.SUCCEEDED.value), 0),
            failed=counts.get((endpoint.id, DeliveryStatus.FAILED.value), 0),
        )
        for endpoint in endpoints
    ]
