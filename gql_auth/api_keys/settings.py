"""Settings of API keys: how many live keys a user may hold."""

from __future__ import annotations

from pydantic import Field

from gql_auth.core.settings import CoreSettings


class ApiKeySettings(CoreSettings):
    """API keys: the per-user cap."""

    max_api_keys_per_user: int = Field(
        default=25,
        ge=1,
        description="Live (unrevoked, unexpired) API keys a user may hold; one more is "
        "BAD_USER_INPUT, reason LIMIT_REACHED.",
    )
