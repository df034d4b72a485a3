"""Passkey tables: registered credentials and the WebAuthn challenges in flight."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from gql_auth.core.models import Base, UTCDateTime, utcnow


class ChallengePurpose(StrEnum):
    REGISTRATION = "REGISTRATION"
    LOGIN = "LOGIN"


class PasskeyChallenge(Base):
    """A WebAuthn challenge handed out and not yet answered: single use, bound to its flow.

    Registration: bound to the signed-in user (user_id). Sign-in: to the account the
    username named (user_id; null when none has it, so nothing can answer), or to any
    account (discoverable).
    """

    __tablename__ = "passkey_challenges"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    purpose: Mapped[ChallengePurpose] = mapped_column(
        Enum(ChallengePurpose, native_enum=False, length=16, create_constraint=False)
    )
    # base64url of the random bytes the authenticator signs.
    challenge: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    discoverable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Registration: the user.id (base64url) the new credential gets.
    user_handle: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
