"""Social sign-in tables: identities linked to accounts, and sign-ins in flight."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gql_auth.core.models import Base, IdType, UTCDateTime, binary_string, utcnow


class SocialIdentity(Base):
    """An account at a provider (provider, subject), linked to one of ours."""

    __tablename__ = "social_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_social_identities_provider_subject"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(binary_string(32))
    # The provider's `sub` (GitHub: the numeric user id), compared byte for byte.
    subject: Mapped[str] = mapped_column(binary_string(255))
    # The address the provider gave when the identity was last used, if any.
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class StatePurpose(StrEnum):
    SIGN_IN = "SIGN_IN"
    LINK = "LINK"


class SocialState(Base):
    """A sign-in sent to a provider and not yet back: single use, ten minutes.

    Kept by the SHA-256 of the `state` the client holds; the PKCE verifier and
    the nonce never leave the server.
    """

    __tablename__ = "social_states"
    __table_args__ = (Index("ix_social_states_expires_at", "expires_at"),)

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[StatePurpose] = mapped_column(
        Enum(StatePurpose, native_enum=False, length=16, create_constraint=False)
    )
    provider: Mapped[str] = mapped_column(String(32))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    code_verifier: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(64))
    # LINK: the signed-in user and session that asked.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    session_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
