"""Settings of what operators watch: log level and the Prometheus endpoint."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from gql_auth.core.settings import CoreSettings


class ObservabilitySettings(CoreSettings):
    """Observability: logs and metrics."""

    metrics_enabled: bool = Field(
        default=False, description="Serve Prometheus metrics at `GET /metrics`."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO",
        description=(
            "Level of the server's logs; one line per request with its request id, never "
            "tokens, passwords or query text."
        ),
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value
