"""SQLAlchemy 2.0 tables: users, sessions, security events, mailed tokens and second factors."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class Role(StrEnum):
    """Roles in ascending order of privilege; a higher role holds every lower one."""

    USER = "USER"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (MySQL DATETIME has no zone) and hands back aware UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in {"mysql", "mariadb"}:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# BIGINT on servers, INTEGER on SQLite so it stays the rowid alias.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def binary_string(length: int) -> String:
    """A string compared byte for byte: SQLite's default, utf8mb4_bin on MySQL/MariaDB.

    For keys we normalize in Python: the database must not fold anything further
    (utf8mb4_unicode_ci would make "josé" equal "jose"), so every backend agrees.
    """
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


class Base(DeclarativeBase):
    pass


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
    password_hash: Mapped[str] = mapped_column(String(255))
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

    user: Mapped[User] = relationship(back_populates="sessions")

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    @property
    def methods(self) -> tuple[str, ...]:
        """The amr values, in the order the sign-in proved them."""
        return tuple(self.amr.split())


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


class RetiredRefreshToken(Base):
    """Hashes of refresh tokens already rotated away: seeing one again means theft."""

    __tablename__ = "retired_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TotpCredential(Base):
    """A user's TOTP secret (encrypted), or one waiting for confirmTotp; one row per user."""

    __tablename__ = "totp_credentials"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # secret_box ciphertexts; the secrets themselves are never stored in clear.
    secret: Mapped[str | None] = mapped_column(String(255), default=None)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    pending_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The replay marker: the newest time step accepted; only later steps pass.
    last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)


class RecoveryCode(Base):
    """A one-time recovery code, kept only as its SHA-256; used_at marks it spent."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_hash", "user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MfaChallenge(Base):
    """The mfaToken of a password check that passed, kept as a hash until verifyMfa uses it."""

    __tablename__ = "mfa_challenges"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Hash of the password hash it was issued under: a new password voids the token.
    password_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


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


# Binary WebAuthn values are kept as base64url text: the async MySQL driver cannot bind
# bytes. A credential id is at most 1023 bytes (1364 characters); ASCII with a binary
# collation on servers, so the unique index fits and compares case by case.
CREDENTIAL_ID_MAX = 1364
CredentialIdType = String(CREDENTIAL_ID_MAX).with_variant(
    mysql.VARCHAR(CREDENTIAL_ID_MAX, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"
)


class Passkey(Base):
    """A user's registered WebAuthn credential: its id and public key, never a secret."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # base64url, as the id travels in PublicKeyCredential JSON.
    credential_id: Mapped[str] = mapped_column(CredentialIdType, unique=True)
    # base64url of the COSE_Key the authenticator sent at registration.
    public_key: Mapped[str] = mapped_column(Text)
    # The authenticator's signature counter; 0 for those that keep none.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # base64url of WebAuthn user.id (random, no personal data): one per user, for all its keys.
    user_handle: Mapped[str] = mapped_column(String(128))
    # Comma-separated AuthenticatorTransport hints ("internal,hybrid"), as the browser said.
    transports: Mapped[str | None] = mapped_column(String(255), default=None)
    name: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


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
