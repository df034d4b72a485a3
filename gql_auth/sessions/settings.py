"""Settings of sign-in sessions: how long one lasts and how many a user may hold."""

from __future__ import annotations

from pydantic import Field

from gql_auth.core.settings import CoreSettings


class SessionSettings(CoreSettings):
    """Sessions: lifetime and the per-user cap."""

    refresh_token_expire_days: int = Field(
        default=14, ge=1, description="Session (refresh token) lifetime, in days."
    )
    max_sessions_per_user: int = Field(
        default=50,
        ge=1,
        description="Live sessions a user may hold; a sign-in beyond it revokes the oldest.",
    )
