"""The API key table: only the SHA-256 of each key is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gql_auth.core.models import Base, IdType, UTCDateTime, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"
    # AUTOINCREMENT on SQLite too: an id is never handed out again (revokeApiKey takes ids).
    __table_args__ = (Index("ix_api_keys_user_id", "user_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, shown in lists; not enough to use it.
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 hex of the whole key: the one indexed read on every request made with it.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255))  # space-separated, as in a `scope` claim
    # Whether the session that created it had proved a second factor (ADMIN_REQUIRES_MFA).
    created_with_factor: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
