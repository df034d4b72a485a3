"""All settings at once: every feature's group, read once from the environment and `.env`.

The groups live with their features (gql_auth/*/settings.py); this module only
composes them and turns validation errors into one line an operator can act on.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from gql_auth.core.errors import SettingsError
from gql_auth.graphql.settings import GraphQLSettings
from gql_auth.services import ServiceSettings


class Settings(GraphQLSettings, ServiceSettings):
    """Every setting of the service; each is documented on the group that owns it."""


def describe_validation_error(error: ValidationError) -> str:
    """One readable line naming each bad setting, as an operator would type it."""
    parts = []
    for item in error.errors():
        name = ".".join(str(piece) for piece in item["loc"]).upper() or "settings"
        message = item["msg"].removeprefix("Value error, ")
        given = item.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int) and _shareable(name) else ""
        parts.append(f"{name}: {message}{shown}" if item["loc"] else message)
    return "invalid settings: " + "; ".join(parts)


def _shareable(name: str) -> bool:
    # Secrets and URLs (which may embed a password) are never echoed back.
    return not any(word in name for word in ("SECRET", "PASSWORD", "URL", "KEY"))


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into one SettingsError line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
