"""Settings of organizations: how many a user may own, how long an invitation lasts."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from gql_auth.core.settings import CoreSettings


class OrganizationSettings(CoreSettings):
    """Organizations: the ownership cap and the invitation lifetime."""

    max_organizations_per_user: int = Field(
        default=20,
        ge=1,
        description="Organizations a user may own; creating or being made OWNER of one more "
        "is BAD_USER_INPUT, reason LIMIT_REACHED.",
    )
    invitation_expire_days: int = Field(
        default=7, ge=1, le=90, description="How long an invitation link works, in days."
    )

    @property
    def invitation_lifetime(self) -> timedelta:
        return timedelta(days=self.invitation_expire_days)
