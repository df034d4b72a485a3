"""Settings of the security event log: how long events are kept."""

from __future__ import annotations

from pydantic import Field

from gql_auth.core.settings import CoreSettings


class AuditSettings(CoreSettings):
    """Security events: how long they are kept."""

    security_event_retention_days: int = Field(
        default=90,
        ge=1,
        description="`gql-auth prune` deletes security events older than this many days.",
    )
