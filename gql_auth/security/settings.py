"""Settings of tokens and passwords: signing algorithm and keys, lifetimes, argon2 costs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from gql_auth.core.settings import CommaList, CoreSettings, Secret

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
# Other services verify these with the public key alone (signing_keys.py, the JWKS).
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})
# OWASP's floor for argon2id; production refuses anything cheaper.
ARGON2_MIN_MEMORY_KIB = 19456
ARGON2_MIN_TIME_COST = 2


class SecuritySettings(CoreSettings):
    """Tokens and passwords: signing, lifetimes, what a password hash costs."""

    jwt_algorithm: str = Field(
        default="HS256",
        description=(
            "`HS256`, `HS384` or `HS512` (signed with `SECRET_KEY`); or `ES256` / `RS256` "
            "(other services verify with the public key at `GET /.well-known/jwks.json`)."
        ),
    )
    jwt_private_key_file: Path | None = Field(
        default=None,
        description=(
            "PEM signing key for ES256/RS256 (`gql-auth gen-key` writes one); required in "
            "production for those. ES256 needs a P-256 key, RS256 an RSA key of at least "
            "2048 bits. Refused like `SECRET_KEY_FILE` when others could read it. Development "
            "generates one beside `SECRET_KEY_FILE`."
        ),
    )
    jwt_previous_public_key_files: CommaList = Field(
        default=[],
        description=(
            "Comma-separated PEM files of retired (or next) public keys, still accepted and "
            "published during a rotation; never used to sign. A private key here is refused."
        ),
    )
    jwt_hasura_claims: bool = Field(
        default=False,
        description="Add the `https://hasura.io/jwt/claims` object to access tokens.",
    )
    introspection_secret: Secret = Field(
        default=None,
        description=(
            "Bearer secret resource servers present to `POST /oauth/introspect` (at least "
            "32 bytes); unset, that route answers 404."
        ),
    )
    jwt_issuer: str = Field(
        default="gql-auth", description="`iss` of issued tokens; checked on every token."
    )
    jwt_audience: str = Field(
        default="gql-auth", description="`aud` of issued tokens; checked on every token."
    )
    access_token_expire_minutes: int = Field(
        default=15, ge=1, description="Access token lifetime, in minutes."
    )

    password_min_length: int = Field(
        default=8, ge=1, le=256, description="Shortest password accepted (1 to 256)."
    )
    # argon2-cffi's RFC 9106 low-memory defaults.
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id iterations.")
    argon2_memory_cost: int = Field(
        default=65536, ge=8, description="argon2id memory in KiB (64 MiB per hash)."
    )
    argon2_parallelism: int = Field(default=4, ge=1, description="argon2id lanes.")
    # argon2 runs each hash's lanes on threads of its own; on 2 cores, 2 gave the most
    # verifies/s (1: ~17 % fewer; 3 and 4: no more, only slower sign-ins).
    password_hash_workers: int = Field(
        default=2,
        ge=1,
        description="Password hashes one server process computes at once; more requests wait.",
    )

    @field_validator("jwt_algorithm")
    @classmethod
    def _check_algorithm(cls, value: str) -> str:
        # HMAC with SECRET_KEY, or a key pair whose public half other services verify with.
        if value not in HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS:
            raise ValueError("must be one of HS256, HS384, HS512, ES256, RS256")
        return value

    def missing_in_production(self) -> list[str]:
        missing = super().missing_in_production()
        if self.is_asymmetric and self.jwt_private_key_file is None:
            missing.append(
                f"JWT_PRIVATE_KEY_FILE must be set when ENVIRONMENT=production and "
                f"JWT_ALGORITHM={self.jwt_algorithm} (gql-auth gen-key writes one)"
            )
        return missing

    def unsafe_in_production(self) -> list[str]:
        unsafe = super().unsafe_in_production()
        if (
            self.argon2_memory_cost < ARGON2_MIN_MEMORY_KIB
            or self.argon2_time_cost < ARGON2_MIN_TIME_COST
        ):
            unsafe.append(
                "ARGON2_MEMORY_COST/ARGON2_TIME_COST are below the safe minimum "
                f"({ARGON2_MIN_MEMORY_KIB} KiB, {ARGON2_MIN_TIME_COST}) for production"
            )
        return unsafe

    @property
    def is_asymmetric(self) -> bool:
        return self.jwt_algorithm in ASYMMETRIC_ALGORITHMS
