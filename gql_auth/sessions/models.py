"""Session tables: one row per sign-in, and the refresh tokens it rotated away."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gql_auth.core.models import Base, UTCDateTime, utcnow
from gql_auth.users.models import User


class AuthSession(Base):
    """One row per sign-in; access tokens name it in `sid` so it can be revoked."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    ip_address: Mapped[str | None] = mapped_column(String(45), default=None)
    # SHA-256 hex of the current refresh token; the token itself is never stored.
    refresh_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # How the sign-in was proved (RFC 8176 amr values, space-separated): rotation keeps it.
    amr: Mapped[str] = mapped_column(String(64), default="pwd", server_default="pwd")
    # switchOrganization's choice; tokens name it, the membership join checks it per request.
    active_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), default=None
    )

    user: Mapped[User] = relationship(back_populates="sessions")

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    @property
    def methods(self) -> tuple[str, ...]:
        """The amr values, in the order the sign-in proved them."""
        return tuple(self.amr.split())


class RetiredRefreshToken(Base):
    """Hashes of refresh tokens already rotated away: seeing one again means theft."""

    __tablename__ = "retired_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
