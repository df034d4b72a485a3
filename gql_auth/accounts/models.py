"""Account tables: users and the single-use tokens mailed to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

if TYPE_CHECKING:  # the relationship's other side; sessions import accounts, not back
    pass

from gql_auth.core.models import Base, IdType, UTCDateTime, utcnow


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105 - a purpose, not a secret
    EMAIL_VERIFICATION = "EMAIL_VERIFICATION"


class AccountToken(Base):
    """A mailed single-use token (password reset, e-mail verification), kept only as a hash."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose] = mapped_column(
        Enum(TokenPurpose, native_enum=False, length=32, create_constraint=False)
    )
    # SHA-256 hex of the token; the token itself only ever exists in the mail.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address the token was mailed to: it stops working if the account's address changes.
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
