"""The settings every feature shares, and what each feature's settings group builds on.

Settings come from environment variables (and `.env`) through pydantic-settings,
read once at start-up. Each feature declares its own group, a subclass of
CoreSettings in its package's `settings` module, and reads only that;
gql_auth.settings.Settings is every group at once. Names stay flat
(`RATE_LIMIT_MFA`, not `LIMITS__MFA`), so a group is an owner, not a prefix.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gql_auth.core.errors import SettingsError
from gql_auth.core.key_files import MIN_SECRET_BYTES, development_secret


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _long_enough(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
    return value


def _networks(value: list[str]) -> list[str]:
    for network in value:
        ipaddress.ip_network(network, strict=False)
    return value


# `A,B` in the environment; a list in code.
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]
# A key or bearer secret: at least MIN_SECRET_BYTES of UTF-8.
Secret = Annotated[SecretStr | None, AfterValidator(_long_enough)]


class CoreSettings(BaseSettings):
    """Core: environment, database, the root secret, the public address."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description=(
            '`production` turns off GraphiQL (404), introspection and "did you mean" '
            "suggestions, logs JSON lines, and refuses to start without an explicit "
            "`SECRET_KEY` (and `JWT_PRIVATE_KEY_FILE` with ES256/RS256), or with weak "
            "argon2 settings."
        ),
    )
    database_url: str = Field(
        default="sqlite:///./gql_auth.db",
        description=(
            "Any SQLAlchemy URL; MySQL/MariaDB as `mysql+pymysql://user:pass@host:3306/db`, "
            "PostgreSQL as `postgresql://user:pass@host:5432/db`. "
            "The SQLite path is relative to the working directory."
        ),
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        description=(
            "Database connections each server process keeps open "
            "(MySQL/MariaDB; not used for SQLite)."
        ),
    )
    db_max_overflow: int = Field(
        default=10, ge=0, description="Extra connections a process may open above the pool."
    )

    secret_key: Secret = Field(
        default=None,
        description=(
            "Signs HS* access tokens (its UTF-8 bytes, at least 32), keys TOTP encryption "
            "(unless `TOTP_ENCRYPTION_KEY`) and passkey decoys. Required in production with "
            "every `JWT_ALGORITHM`; development generates one into `SECRET_KEY_FILE`."
        ),
    )
    secret_key_previous: Secret = Field(
        default=None,
        description=(
            "A retired key still accepted when verifying tokens during a rotation; "
            "never used to sign."
        ),
    )
    secret_key_file: Path = Field(
        default=Path(".gql_auth_secret"),
        description=(
            "Development only: where the generated key is kept (created 0600) so tokens "
            "survive restarts. A symlink, a file owned by another user or one readable by "
            "group or others is refused."
        ),
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description=(
            "Base of the links in mails (`PUBLIC_URL/reset-password?token=...`, "
            "`PUBLIC_URL/verify-email?token=...`, `PUBLIC_URL/accept-invitation?token=...`), "
            "and the default passkey relying party."
        ),
    )
    cors_origins: CommaList = Field(
        default=[],
        description=(
            "Comma-separated origins allowed to call the API from a browser; "
            "empty sends no CORS headers."
        ),
    )
    trusted_proxies: Annotated[CommaList, AfterValidator(_networks)] = Field(
        default=[],
        description=(
            "Comma-separated addresses or networks (`10.0.0.5,192.168.0.0/24`) whose "
            "`X-Forwarded-For` is believed; otherwise the socket address is the client's."
        ),
    )

    @model_validator(mode="after")
    def _production_rules(self) -> Self:
        # Every group adds what production needs (missing_in_production) and refuses
        # (unsafe_in_production); one line names all that is missing.
        if self.environment is not Environment.PRODUCTION:
            return self
        missing = self.missing_in_production()
        if missing:
            raise ValueError("; ".join(missing))
        unsafe = self.unsafe_in_production()
        if unsafe:
            raise ValueError("; ".join(unsafe))
        return self

    def missing_in_production(self) -> list[str]:
        """Settings production must be given; groups extend it (cooperatively, via super)."""
        # Never a generated key: one per host would break TOTP and decoys across hosts.
        if self.secret_key is None:
            return [
                "SECRET_KEY must be set explicitly when ENVIRONMENT=production, whatever "
                "JWT_ALGORITHM (it keys TOTP encryption and passkey decoys, and signs HS* "
                "tokens; gql-auth gen-secret writes one)"
            ]
        return []

    def unsafe_in_production(self) -> list[str]:
        """Values production refuses; groups extend it (cooperatively, via super)."""
        return []

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    def signing_key(self) -> str:
        """SECRET_KEY; development falls back to a key kept in a local file."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.is_production:  # only a model_construct()ed Settings gets here
            raise SettingsError("SECRET_KEY must be set explicitly when ENVIRONMENT=production")
        return development_secret(self.secret_key_file)

    def root_secrets(self) -> list[str]:
        """SECRET_KEY, then SECRET_KEY_PREVIOUS when a rotation keeps it: what keys derive from."""
        secrets = [self.signing_key()]
        if self.secret_key_previous is not None:
            secrets.append(self.secret_key_previous.get_secret_value())
        return secrets
