"""Root fields for webhooks: the event catalogue, endpoints, their secrets and deliveries (ADMIN).

Closed to API keys: an endpoint receives every user's events, so managing one
takes a signed-in ADMIN.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from gql_auth.accounts.accounts import parse_user_id
from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.core.models import Role
from gql_auth.graphql.api.inputs import (
    CreateWebhookEndpointInput,
    UpdateWebhookEndpointInput,
    given,
)
from gql_auth.graphql.context import Info
from gql_auth.graphql.permissions import HasRole, IsAuthenticated, guarded_by
from gql_auth.webhooks import endpoints, outbox
from gql_auth.webhooks.events import EventType
from gql_auth.webhooks.models import DeliveryStatus
from gql_auth.webhooks.models import WebhookDelivery as DeliveryRow
from gql_auth.webhooks.models import WebhookEndpoint as EndpointRow

_ADMIN_ONLY = (IsAuthenticated(), HasRole(Role.ADMIN))


@strawberry.type(description="One attempt to deliver one event to one endpoint.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="This attempt's own id.")
    event_id: str = strawberry.field(
        description="The event's id, sent as the webhook-id header (the same on every retry)."
    )
    event_type: str = strawberry.field(description='The event\'s type, e.g. "user.created".')
    attempt: int = strawberry.field(description="1 for the first attempt, then each retry.")
    status: str = strawberry.field(
        description="PENDING (queued or being sent), SUCCEEDED or FAILED."
    )
    response_status: int | None = strawberry.field(
        description="The endpoint's HTTP status; null when it did not answer."
    )
    error: str | None = strawberry.field(
        description='Why the attempt failed, e.g. "HTTP 500", "timed out", "refused: ...".'
    )
    at: datetime = strawberry.field(
        description="When it was attempted; for a PENDING one, when it is due."
    )

    @classmethod
    def from_row(cls, row: DeliveryRow, event_type: str) -> WebhookDelivery:
        pending = row.status == DeliveryStatus.PENDING.value
        return cls(
            id=strawberry.ID(str(row.id)),
            event_id=row.event_id,
            event_type=event_type,
            attempt=row.attempt,
            status=row.status,
            response_status=row.response_status,
            error=row.error,
            at=row.due_at if pending or row.attempted_at is None else row.attempted_at,
        )


@strawberry.type(description="Where events are delivered, signed with the endpoint's secret.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="Pass it to the webhook mutations.")
    url: str = strawberry.field(description="Where events are POSTed.")
    event_types: list[str] = strawberry.field(
        description='Event types delivered here, e.g. ["user.created", "session.revoked"]; '
        "empty: all."
    )
    enabled: bool = strawberry.field(
        description="False: nothing is sent (set by an ADMIN, or after failing for "
        "WEBHOOK_DISABLE_AFTER_DAYS)."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    failing_since: datetime | None = strawberry.field(
        description="Since when every attempt has failed; null when the last one succeeded."
    )

    @strawberry.field(description="Newest first; first is 1-100.")
    async def deliveries(self, info: Info, first: int = 20) -> list[WebhookDelivery]:
        async with info.context.db() as db:
            rows = await endpoints.deliveries(db, endpoint_id=int(self.id), first=first)
            types = await outbox.types_of(db, {row.event_id for row in rows})
        return [WebhookDelivery.from_row(row, types.get(row.event_id, "")) for row in rows]

    @classmethod
    def from_row(cls, row: EndpointRow) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(row.id)),
            url=row.url,
            event_types=row.event_types.split(),
            enabled=row.enabled,
            created_at=row.created_at,
            failing_since=row.failing_since,
        )


@strawberry.type(description="An endpoint and its signing secret, shown only this once.")
class CreatedWebhookEndpoint:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint as lists show it.")
    secret: str = strawberry.field(
        description='The signing secret ("whsec_" + base64), shown only this once; stored '
        "encrypted."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Every event type a webhook may receive (ADMIN). The docs' event "
        "catalogue describes each and its data.",
        extensions=guarded_by(*_ADMIN_ONLY),
    )
    def webhook_event_types(self) -> list[str]:
        return [event_type.value for event_type in EventType]

    @strawberry.field(
        description="Every webhook endpoint, oldest first (ADMIN).",
        extensions=guarded_by(*_ADMIN_ONLY),
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        async with info.context.db() as db:
            rows = await endpoints.all_endpoints(db)
        return [WebhookEndpoint.from_row(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Adds an endpoint; events from now on are delivered to it. Role ADMIN. "
        "BAD_USER_INPUT with field url (INVALID, TOO_LONG, NOT_HTTPS, PRIVATE_ADDRESS, "
        "UNRESOLVABLE) or eventTypes (UNKNOWN_EVENT_TYPE); LIMIT_REACHED beyond "
        "WEBHOOK_MAX_ENDPOINTS.",
        extensions=guarded_by(*_ADMIN_ONLY),
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreatedWebhookEndpoint:
        async with info.context.db() as db:
            created = await endpoints.create(
                db,
                url=input.url,
                event_types=input.event_types,
                box=info.context.services.webhook_box,
                policy=_policy(info),
            )
        return CreatedWebhookEndpoint(
            endpoint=WebhookEndpoint.from_row(created.endpoint), secret=created.secret
        )

    @strawberry.mutation(
        description="Changes an endpoint's URL, subscription or enabled flag. Role ADMIN. "
        "BAD_USER_INPUT with field id (NOT_FOUND), url or eventTypes as createWebhookEndpoint.",
        extensions=guarded_by(*_ADMIN_ONLY),
    )
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpoint:
        async with info.context.db() as db:
            row = await endpoints.update(
                db,
                endpoint_id=_endpoint_id(input.id),
                url=given(input.url),
                event_types=given(input.event_types),
                enabled=given(input.enabled),
                policy=_policy(info),
            )
        return WebhookEndpoint.from_row(row)

    @strawberry.mutation(
        description="Deletes an endpoint with its queued deliveries. Role ADMIN. False for an "
        "unknown id.",
        extensions=guarded_by(*_ADMIN_ONLY),
    )
    async def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> bool:
        endpoint_id = parse_user_id(str(id))  # ids are digits, like user ids
        if endpoint_id is None:
            return False
        async with info.context.db() as db:
            return await endpoints.delete(db, endpoint_id=endpoint_id)

    @strawberry.mutation(
        description="A new secret; the old one keeps signing beside it for 24 hours, so "
        "receivers can switch without losing a delivery. Role ADMIN. BAD_USER_INPUT with "
        "field id (NOT_FOUND).",
        extensions=guarded_by(*_ADMIN_ONLY),
    )
    async def rotate_webhook_secret(self, info: Info, id: strawberry.ID) -> CreatedWebhookEndpoint:
        async with info.context.db() as db:
            rotated = await endpoints.rotate_secret(
                db, endpoint_id=_endpoint_id(id), box=info.context.services.webhook_box
            )
        return CreatedWebhookEndpoint(
            endpoint=WebhookEndpoint.from_row(rotated.endpoint), secret=rotated.secret
        )

    @strawberry.mutation(
        description="Queues the event again for every endpoint that subscribes to it, with "
        "the same webhook-id. Role ADMIN. False when no enabled endpoint subscribes; "
        "BAD_USER_INPUT with field eventId (NOT_FOUND) for an unknown or pruned event.",
        extensions=guarded_by(*_ADMIN_ONLY),
    )
    async def redeliver_webhook_event(self, info: Info, event_id: str) -> bool:
        async with info.context.db() as db:
            return await outbox.redeliver(db, event_id=event_id) > 0


def _policy(info: Info) -> endpoints.Policy:
    settings = info.context.settings
    return endpoints.Policy(
        allow_private=settings.webhook_private_urls_allowed,
        max_endpoints=settings.webhook_max_endpoints,
        lookup_timeout=settings.webhook_timeout_seconds,
    )


def _endpoint_id(id: strawberry.ID) -> int:
    endpoint_id = parse_user_id(str(id))
    if endpoint_id is None:
        raise InvalidInput(Subject.ITEM_ID, Reason.NOT_FOUND, "No such webhook endpoint.")
    return endpoint_id
