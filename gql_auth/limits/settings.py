"""Settings of rate limits: where counts live, and one RATE_LIMIT_* field per rule.

The fields are made from gql_auth.limits.rules.Rule, so a rule is declared once
there (default, what it counts, why) and its setting follows.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from gql_auth.core.settings import CoreSettings
from gql_auth.limits.rules import Rule, check_rate


class LimitSettings(CoreSettings):
    """Rate limits: the shared store, and RATE_LIMIT_<rule> for every Rule."""

    redis_url: str | None = Field(
        default=None,
        description=(
            "e.g. `redis://127.0.0.1:6379/0`: rate-limit counts live there, so all workers "
            "and hosts share them. Unset: each process counts in its own memory."
        ),
    )
    rate_limit_key_prefix: str = Field(
        default="gql-auth",
        description="Prefix of the rate-limit keys in Redis, so deployments can share one.",
    )

    # One field per rule, e.g. rate_limit_mfa: str = "5/15minutes" (read with getattr).
    for _rule in Rule:
        __annotations__[_rule.setting] = "str"
        locals()[_rule.setting] = Field(default=_rule.default, description=_rule.description)
    del _rule

    @field_validator(*(rule.setting for rule in Rule))
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        return check_rate(value)
