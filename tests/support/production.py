"""Production settings as an operator runs them."""

from __future__ import annotations

from typing import Any

from gql_auth.settings import Settings
from tests.support.helpers import (
    SECRET_KEY,
)


def production_settings(database_url: str, **overrides: Any) -> Settings:
    """Production as an operator would run it: explicit secret, default (real) argon2 cost."""
    values = {"secret_key": SECRET_KEY, "database_url": database_url, **overrides}
    return Settings(_env_file=None, environment="production", **values)
