"""Social sign-in in the tests: the operations, and an app configured for one provider."""

from __future__ import annotations

from typing import Any

from gql_auth.settings import Settings
from tests.support.helpers import make_settings

BEGIN = """
mutation Begin($input: BeginSocialSignInInput!) {
  beginSocialSignIn(input: $input) { authorizationUrl state }
}"""
FINISH = """
mutation Finish($input: FinishSocialSignInInput!) {
  finishSocialSignIn(input: $input) { accessToken refreshToken user { id username email } }
}"""


def one_provider_settings(
    database_url: str,
    provider_id: str,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    trust_email: bool = False,
    display_name: str | None = None,
    **overrides: Any,
) -> Settings:
    """Settings with this one provider, as its OAUTH_<ID>_* variables would give it."""
    values = {
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": client_secret,
        "trust_email": str(trust_email).lower(),
        **({"display_name": display_name} if display_name is not None else {}),
    }
    return make_settings(
        database_url,
        oauth_providers=[provider_id],
        oauth_redirect_uris=[redirect_uri],
        oauth_provider_settings={provider_id: values},
        **overrides,
    )
