"""The security event table: what happened to an account, when and from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from gql_auth.core.models import Base, IdType, UTCDateTime, utcnow


class SecurityEvent(Base):
    """Audit trail of sign-ins and account changes, shown on the dashboards."""

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_user_at", "user_id", "at"),
        Index("ix_security_events_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    # Null for failures against unknown names: they still count on the dashboard.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(45), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
