"""Settings, read once from the environment (and `.env`) by pydantic-settings."""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import stat
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from limits import parse as parse_rate_limit
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gql_auth.rate_limit_rules import Rule

MIN_SECRET_BYTES = 32
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
# Other services verify these with the public key alone (signing_keys.py, the JWKS).
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})
# OWASP's floor for argon2id; production refuses anything cheaper.
ARGON2_MIN_MEMORY_KIB = 19456
ARGON2_MIN_TIME_COST = 2


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./gql_auth.db"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)

    secret_key: SecretStr | None = None
    secret_key_previous: SecretStr | None = None
    # Where development keeps its generated key so tokens survive restarts.
    secret_key_file: Path = Path(".gql_auth_secret")
    jwt_algorithm: str = "HS256"
    # ES256/RS256: the PEM signing key; development generates one beside SECRET_KEY_FILE.
    jwt_private_key_file: Path | None = None
    # Retired (or next) public keys: still accepted and published during a rotation.
    jwt_previous_public_key_files: CommaList = []
    jwt_hasura_claims: bool = False
    # Resource servers present it to POST /oauth/introspect; unset, that route is 404.
    introspection_secret: SecretStr | None = None
    jwt_issuer: str = "gql-auth"
    jwt_audience: str = "gql-auth"
    access_token_expire_minutes: int = Field(default=15, ge=1)
    refresh_token_expire_days: int = Field(default=14, ge=1)
    # A sign-in beyond this many live sessions revokes the user's oldest.
    max_sessions_per_user: int = Field(default=50, ge=1)
    # `gql-auth prune` deletes security events older than this.
    security_event_retention_days: int = Field(default=90, ge=1)

    password_min_length: int = Field(default=8, ge=1, le=256)
    # argon2-cffi's RFC 9106 low-memory defaults.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # Hashes computed at once per process. argon2 runs each hash's lanes on
    # threads of its own; on 2 cores, 2 gave the most verifies/s (1: ~17 %
    # fewer; 3 and 4: no more, only slower sign-ins). See docs/performance.md.
    password_hash_workers: int = Field(default=2, ge=1)

    redis_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from: str = "gql-auth <no-reply@localhost>"
    public_url: str = "http://127.0.0.1:8000"
    cors_origins: CommaList = []
    trusted_proxies: CommaList = []
    # Passkeys: the relying-party id (a host name) and the origins a ceremony may come
    # from; empty means derived from PUBLIC_URL (see webauthn_rp_id_in_force).
    webauthn_rp_id: str | None = None
    webauthn_origins: CommaList = []
    webauthn_rp_name: str = "gql-auth"

    # One field per rate_limit_rules.Rule (what each limits and why is said there).
    rate_limit_login_account_client: str = Rule.LOGIN_ACCOUNT_CLIENT.default
    rate_limit_login_account: str = Rule.LOGIN_ACCOUNT.default
    rate_limit_login_ip: str = Rule.LOGIN_IP.default
    rate_limit_signin_account_client: str = Rule.SIGNIN_ACCOUNT_CLIENT.default
    rate_limit_mfa: str = Rule.MFA.default
    rate_limit_register_ip: str = Rule.REGISTER_IP.default
    rate_limit_reset_email: str = Rule.RESET_EMAIL.default
    rate_limit_reset_email_all_clients: str = Rule.RESET_EMAIL_ALL_CLIENTS.default
    rate_limit_reset_ip: str = Rule.RESET_IP.default
    rate_limit_passkey_challenge_ip: str = Rule.PASSKEY_CHALLENGE_IP.default
    rate_limit_passkey_login_ip: str = Rule.PASSKEY_LOGIN_IP.default
    rate_limit_passkey_login_account: str = Rule.PASSKEY_LOGIN_ACCOUNT.default
    rate_limit_introspect_client: str = Rule.INTROSPECT_CLIENT.default
    rate_limit_notice_email: str = Rule.NOTICE_EMAIL.default
    # Redis keys start with this, so several deployments can share one Redis.
    rate_limit_key_prefix: str = "gql-auth"

    # Query limits, checked before anything runs. The standard introspection
    # queries (graphql-js, GraphiQL, codegen) are 15 levels deep.
    max_query_depth: int = Field(default=12, ge=1)
    max_introspection_depth: int = Field(default=18, ge=1)
    max_aliases: int = Field(default=30, ge=0)
    max_query_tokens: int = Field(default=2000, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # Second factor. ADMIN-only fields refuse sessions that signed in with a password alone.
    admin_requires_mfa: bool = False
    # Key that encrypts TOTP secrets at rest; unset: derived from SECRET_KEY (HKDF).
    totp_encryption_key: SecretStr | None = None
    # The issuer an authenticator app shows beside the account name.
    totp_issuer: str = Field(default="gql-auth", min_length=1, max_length=64)

    # Trusted documents (graphql/trusted_documents.py): the manifest of the operations the
    # clients were built with; with TRUSTED_DOCUMENTS_ONLY nothing else runs. Unset ONLY:
    # see trusted_documents_only_in_force.
    trusted_documents_file: Path | None = None
    trusted_documents_only: bool | None = None

    # Mail the owner's verified address when how the account is entered changes (notices.py).
    security_notifications: bool = True

    metrics_enabled: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator(
        "cors_origins",
        "trusted_proxies",
        "webauthn_origins",
        "jwt_previous_public_key_files",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_documents_file", "trusted_documents_only", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `TRUSTED_DOCUMENTS_FILE=` in a .env file means "none", not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value

    # Pydantic refuses a validator naming a missing field: a Rule without its field fails here.
    @field_validator(*(rule.setting for rule in Rule))
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        parse_rate_limit(value)
        return value

    @field_validator("jwt_algorithm")
    @classmethod
    def _check_algorithm(cls, value: str) -> str:
        # HMAC with SECRET_KEY, or a key pair whose public half other services verify with.
        if value not in HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS:
            raise ValueError("must be one of HS256, HS384, HS512, ES256, RS256")
        return value

    @field_validator(
        "secret_key", "secret_key_previous", "totp_encryption_key", "introspection_secret"
    )
    @classmethod
    def _check_secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
        return value

    @field_validator("webauthn_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if _origin_of(origin) != origin:
                raise ValueError(f"{origin!r} is not an origin like https://example.com")
        return value

    @model_validator(mode="after")
    def _passkey_origins_match_the_rp_id(self) -> Self:
        # A browser refuses a ceremony whose origin is not the RP id or below it:
        # a mismatch would only show as every passkey failing.
        rp_id = self.webauthn_rp_id_in_force
        for origin in self.webauthn_origins_in_force:
            host = urlsplit(origin).hostname or ""
            if host != rp_id and not host.endswith("." + rp_id):
                raise ValueError(
                    f"WEBAUTHN_ORIGINS: {origin} is not on WEBAUTHN_RP_ID {rp_id} or below it"
                )
        return self

    @model_validator(mode="after")
    def _trusted_documents_need_a_manifest(self) -> Self:
        if self.trusted_documents_only and self.trusted_documents_file is None:
            raise ValueError(
                "TRUSTED_DOCUMENTS_ONLY=true needs TRUSTED_DOCUMENTS_FILE: "
                "without a manifest no operation could run"
            )
        return self

    @model_validator(mode="after")
    def _production_rules(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        # Never a generated key: one per host would break TOTP and decoys across hosts.
        missing = []
        if self.secret_key is None:
            missing.append(
                "SECRET_KEY must be set explicitly when ENVIRONMENT=production, whatever "
                "JWT_ALGORITHM (it keys TOTP encryption and passkey decoys, and signs HS* "
                "tokens; gql-auth gen-secret writes one)"
            )
        if self.is_asymmetric and self.jwt_private_key_file is None:
            missing.append(
                f"JWT_PRIVATE_KEY_FILE must be set when ENVIRONMENT=production and "
                f"JWT_ALGORITHM={self.jwt_algorithm} (gql-auth gen-key writes one)"
            )
        if missing:
            raise ValueError("; ".join(missing))
        if (
            self.argon2_memory_cost < ARGON2_MIN_MEMORY_KIB
            or self.argon2_time_cost < ARGON2_MIN_TIME_COST
        ):
            raise ValueError(
                "ARGON2_MEMORY_COST/ARGON2_TIME_COST are below the safe minimum "
                f"({ARGON2_MIN_MEMORY_KIB} KiB, {ARGON2_MIN_TIME_COST}) for production"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def trusted_documents_only_in_force(self) -> bool:
        """TRUSTED_DOCUMENTS_ONLY, else on in production whenever a manifest is given."""
        if self.trusted_documents_only is not None:
            return self.trusted_documents_only
        return self.is_production and self.trusted_documents_file is not None

    @property
    def webauthn_rp_id_in_force(self) -> str:
        """WEBAUTHN_RP_ID, else the host of PUBLIC_URL."""
        return self.webauthn_rp_id or urlsplit(self.public_url).hostname or "localhost"

    @property
    def webauthn_origins_in_force(self) -> tuple[str, ...]:
        """WEBAUTHN_ORIGINS, else the origin of PUBLIC_URL."""
        return tuple(self.webauthn_origins) or (_origin_of(self.public_url),)

    @property
    def is_asymmetric(self) -> bool:
        return self.jwt_algorithm in ASYMMETRIC_ALGORITHMS

    def signing_key(self) -> str:
        """SECRET_KEY; development falls back to a key kept in a local file."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.is_production:  # only a model_construct()ed Settings gets here
            raise SettingsError("SECRET_KEY must be set explicitly when ENVIRONMENT=production")
        return _development_secret(self.secret_key_file)


def _origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased, as a browser puts it in clientDataJSON."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme.lower()}://{host}{port}"


def _development_secret(path: Path) -> str:
    """The key kept in `path`, created 0600 on first use; a file others could read is refused."""
    key = _read_private_file(path)
    if key is not None and len(key.encode()) >= MIN_SECRET_BYTES:
        return key
    new_key = secrets.token_urlsafe(32)
    # O_NOFOLLOW: a symlink planted here is never written through. O_EXCL: nor is a file
    # that appeared since we looked; a short key of our own is replaced in place.
    exists = key is not None
    flags = os.O_WRONLY | os.O_NOFOLLOW | (os.O_TRUNC if exists else os.O_CREAT | os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:  # another process created it meanwhile: theirs wins
        theirs = _read_private_file(path)
        if theirs is None or len(theirs.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(f"SECRET_KEY_FILE {path} changed while being created") from None
        return theirs
    except OSError as error:
        raise SettingsError(f"SECRET_KEY_FILE {path}: cannot write it ({error.strerror})") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key + "\n")
    return new_key


def read_private_file(path: Path, *, setting: str) -> str | None:
    """A key file's text, or None when there is none; SettingsError unless only we can read it."""
    return _read_private_file(path, setting)


def create_private_file(path: Path, text: str, *, setting: str) -> str:
    """Writes a new key file (0600) unless one appeared meanwhile; returns the one that is there.

    Written aside and hard-linked into place: a reader never sees half a
    key, a symlink planted at `path` is never written through, and of two
    processes creating it at once the first link wins for both.
    """
    aside = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise SettingsError(f"{setting} {path}: cannot write it ({error.strerror})") from None
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process was first: its key is the key
        except OSError as error:
            raise SettingsError(f"{setting} {path}: cannot write it ({error.strerror})") from None
    finally:
        aside.unlink(missing_ok=True)
    theirs = _read_private_file(path, setting)
    if theirs is None:
        raise SettingsError(f"{setting} {path} vanished while being created")
    return theirs


def _read_private_file(path: Path, setting: str = "SECRET_KEY_FILE") -> str | None:
    """The file's text, or None when there is none; SettingsError unless only we can read it."""
    try:
        # O_NONBLOCK: a FIFO planted here must not hang the start-up.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SettingsError(
                f"{setting} {path} is a symbolic link; refusing to follow it"
            ) from None
        raise SettingsError(f"{setting} {path}: cannot read it ({error.strerror})") from None
    try:
        _check_private(path, os.fstat(fd), setting)
    except SettingsError:
        os.close(fd)
        raise
    with os.fdopen(fd) as handle:
        return handle.read().strip()


def _check_private(path: Path, info: os.stat_result, setting: str) -> None:
    # Checked on the open file, not the name: nothing can be swapped in between.
    if not stat.S_ISREG(info.st_mode):
        raise SettingsError(f"{setting} {path} is not a regular file")
    if info.st_uid != os.geteuid():
        remedy = "delete it or set SECRET_KEY" if setting == "SECRET_KEY_FILE" else "chown it"
        raise SettingsError(
            f"{setting} {path} is owned by another user (uid {info.st_uid}); {remedy}"
        )
    if info.st_mode & 0o077:
        raise SettingsError(
            f"{setting} {path} has mode {stat.S_IMODE(info.st_mode):04o}, so other "
            f"users may read the key; run chmod 600 {path}, or delete it for a new key"
        )


def describe_validation_error(error: ValidationError) -> str:
    """One readable line naming each bad setting, as an operator would type it."""
    parts = []
    for item in error.errors():
        name = ".".join(str(piece) for piece in item["loc"]).upper() or "settings"
        message = item["msg"].removeprefix("Value error, ")
        given = item.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int) and _shareable(name) else ""
        parts.append(f"{name}: {message}{shown}" if item["loc"] else message)
    return "invalid settings: " + "; ".join(parts)


def _shareable(name: str) -> bool:
    # Secrets and URLs (which may embed a password) are never echoed back.
    return not any(word in name for word in ("SECRET", "PASSWORD", "URL", "KEY"))


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into one SettingsError line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
