"""The user table: who an account is. Every feature's rows point at it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gql_auth.core.models import Base, IdType, Role, UTCDateTime, binary_string, utcnow

if TYPE_CHECKING:  # the relationship's other side; sessions import users, not back
    from gql_auth.sessions.models import AuthSession


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(32))
    # Lower-cased copy with the unique index: case-insensitive on every backend.
    username_key: Mapped[str] = mapped_column(binary_string(32), unique=True)
    # As typed, normalized by email_validator and lower-cased: where mail goes.
    email: Mapped[str] = mapped_column(String(254))
    # validation.email_key(email): the one spelling uniqueness and lookups compare.
    email_key: Mapped[str] = mapped_column(binary_string(254), unique=True)
    # A new address waiting for its verification link; only then does it replace `email`.
    # Not unique: a pending claim must not block anyone (it is checked again on confirming).
    pending_email: Mapped[str | None] = mapped_column(String(254), default=None)
    # None for an account made by social sign-in that never set a password.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, create_constraint=False), default=Role.USER
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    sessions: Mapped[list[AuthSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
