"""Settings of webhooks: how long an attempt may take, when to retry, which URLs are allowed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, Field

from gql_auth.core.settings import CommaList, CoreSettings

_WAIT = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_wait(text: str) -> timedelta:
    """`5s`, `30m`, `2h`, `1d` or `250ms` as a timedelta; ValueError for anything else."""
    match = _WAIT.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a wait such as 5s, 30m, 2h or 1d")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def _waits(value: list[str]) -> list[str]:
    for part in value:
        if parse_wait(part) > timedelta(days=7):
            raise ValueError(f"{part!r} is longer than 7 days")
    if len(value) > 20:
        raise ValueError("at most 20 retries")
    return value


class WebhookSettings(CoreSettings):
    """Webhooks: delivery attempts, retries and the addresses endpoints may have."""

    webhook_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=60,
        description="How long one delivery attempt may take, from resolving the endpoint's "
        "name to its last byte; slower is a failed attempt.",
    )
    webhook_retry_schedule: Annotated[CommaList, AfterValidator(_waits)] = Field(
        default=["5s", "5m", "30m", "2h", "5h", "10h", "10h"],
        description="Waits before each retry after a failed attempt (`ms`, `s`, `m`, `h`, "
        "`d`); after the last, the delivery is FAILED. Empty: one attempt only.",
    )
    webhook_allow_private_urls: bool | None = Field(
        default=None,
        description="Allow endpoints on loopback, private, link-local and other non-public "
        "addresses, and plain `http`. Unset: allowed in development, refused in production. "
        "Checked at creation and again at every delivery, after DNS.",
    )
    webhook_max_endpoints: int = Field(
        default=20, ge=1, le=1000, description="How many webhook endpoints may exist."
    )
    webhook_concurrency: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Deliveries one server process sends at once (and connections it opens).",
    )
    webhook_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often each process looks for due deliveries (retries, and events "
        "committed by other processes); its own events go out at once.",
    )
    webhook_disable_after_days: float = Field(
        default=5,
        gt=0,
        description="An endpoint whose every attempt has failed for this long is disabled, "
        "with a `webhook.endpoint_disabled` event and a log line.",
    )
    webhook_event_retention_days: int = Field(
        default=30,
        ge=1,
        description="`gql-auth prune` deletes events older than this whose deliveries have "
        "all ended (delivered or FAILED).",
    )

    @property
    def webhook_private_urls_allowed(self) -> bool:
        if self.webhook_allow_private_urls is not None:
            return self.webhook_allow_private_urls
        return not self.is_production

    def webhook_retry_waits(self) -> tuple[timedelta, ...]:
        return tuple(parse_wait(part) for part in self.webhook_retry_schedule)
