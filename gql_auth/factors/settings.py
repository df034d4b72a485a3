"""Settings of second factors: who must use one, and how TOTP secrets are kept."""

from __future__ import annotations

from pydantic import Field

from gql_auth.core.settings import CoreSettings, Secret


class FactorSettings(CoreSettings):
    """Second factor: who must use one, and TOTP."""

    admin_requires_mfa: bool = Field(
        default=False,
        description=(
            "ADMIN-only fields (and an ADMIN reading other users' private fields) refuse a "
            "session that signed in with a password alone: `FORBIDDEN`, reason "
            "`MFA_REQUIRED`. Set it in production."
        ),
    )
    totp_encryption_key: Secret = Field(
        default=None,
        description=(
            "Key (at least 32 bytes) that encrypts TOTP secrets at rest with AES-256-GCM, "
            "through HKDF-SHA256. Unset: derived from `SECRET_KEY` the same way."
        ),
    )
    totp_issuer: str = Field(
        default="gql-auth",
        min_length=1,
        max_length=64,
        description="The name an authenticator app shows beside the account.",
    )
