"""The box TOTP seeds are sealed in: TOTP_ENCRYPTION_KEY, else keys derived from SECRET_KEY."""

from __future__ import annotations

from gql_auth.factors.settings import FactorSettings
from gql_auth.security.secret_box import SecretBox

TOTP_INFO = b"gql-auth totp secret encryption v1"


def totp_box(settings: FactorSettings) -> SecretBox:
    if settings.totp_encryption_key is not None:
        return SecretBox.derived([settings.totp_encryption_key.get_secret_value()], info=TOTP_INFO)
    return SecretBox.derived(settings.root_secrets(), info=TOTP_INFO)
