"""Second-factor tables: TOTP secrets, recovery codes, passkeys and the mfaToken challenges.

Passkeys are here because holding one is a factor (factors.py asks this table);
the WebAuthn ceremonies that add and use them are gql_auth.passkeys'.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from gql_auth.core.models import Base, IdType, UTCDateTime, utcnow


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
    # The amr of the first factor that passed (pwd, or fed for a social sign-in).
    first_factor: Mapped[str] = mapped_column(String(16), default="pwd", server_default="pwd")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


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
