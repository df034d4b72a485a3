"""The webhook tables: endpoints, the outbox of events, and one row per delivery attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gql_auth.core.models import Base, IdType, UTCDateTime, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # queued, or being sent under a lease
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    # AUTOINCREMENT on SQLite too: an id named in a log or a script never means another endpoint.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    # One of WEBHOOK_MAX_ENDPOINTS numbered places, unique: parallel creations that
    # race for the last place meet on this key, so the cap holds without a table lock.
    slot: Mapped[int] = mapped_column(unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[str] = mapped_column(String(1024))  # space-separated; empty: every type
    enabled: Mapped[bool] = mapped_column(default=True)
    # The signing secrets, sealed (security.secret_box); the previous one signs beside the
    # new one until previous_secret_until, so receivers can switch without losing events.
    secret: Mapped[str] = mapped_column(String(255))
    previous_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Since when every attempt has failed; an endpoint failing for days is disabled.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebhookEvent(Base):
    """The outbox: written in the transaction of the change it reports."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the webhook-id header
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)  # the body's `data`, as JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One attempt to deliver one event to one endpoint; a failed attempt queues the next."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The queue: due PENDING attempts, oldest first.
        Index("ix_webhook_deliveries_status_due", "status", "due_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_event", "event_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_events.id", ondelete="CASCADE")
    )
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    # When the attempt may run; a worker that claims it moves it to the end of its lease,
    # so an attempt whose worker died runs again once the lease is over.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(32), default=None)  # the lease's token
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    response_status: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(255), default=None)  # never a secret
