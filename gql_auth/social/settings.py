"""Settings of social sign-in: the providers, each configured by OAUTH_<ID>_* variables.

Provider ids are chosen by the operator (OAUTH_PROVIDERS=google,acme), so
their settings cannot be fields of their own: a settings source reads
OAUTH_<ID>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _SCOPES, _DISPLAY_NAME and
_TRUST_EMAIL from the environment and `.env` for every listed id, and the
group checks them at start-up like any other setting.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from gql_auth.core.settings import CommaList, CoreSettings

PROVIDER_ID = re.compile(r"[a-z][a-z0-9]{0,31}")
PROVIDER_KEYS = ("issuer", "client_id", "client_secret", "scopes", "display_name", "trust_email")
DEFAULT_SCOPES = ("openid", "email", "profile")
# `github`: OAuth 2.0 without OpenID Connect. OAUTH_GITHUB_ISSUER may name a GitHub
# Enterprise Server (its API is under /api/v3); unset, github.com and api.github.com.
GITHUB = "github"
GITHUB_COM = "https://github.com"
GITHUB_SCOPES = ("read:user", "user:email")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One provider, as its OAUTH_<ID>_* settings describe it.

    `issuer` is the OpenID Connect issuer, or for `github` the base URL of the
    GitHub (Enterprise) site.
    """

    id: str
    display_name: str
    issuer: str
    client_id: str
    client_secret: SecretStr
    scopes: tuple[str, ...]
    trust_email: bool

    @property
    def is_github(self) -> bool:
        return self.id == GITHUB

    @property
    def api_base(self) -> str:
        """GitHub's REST API: api.github.com, or /api/v3 on an Enterprise Server."""
        return "https://api.github.com" if self.issuer == GITHUB_COM else self.issuer + "/api/v3"


class ProviderSettingsSource(PydanticBaseSettingsSource):
    """OAUTH_<ID>_<NAME> for each id in OAUTH_PROVIDERS, from the environment and `.env`."""

    def __init__(
        self, settings_cls: type[BaseSettings], *variables: Mapping[str, str | None]
    ) -> None:
        super().__init__(settings_cls)
        # Earlier mappings win, as the environment wins over `.env`.
        self._variables: dict[str, str] = {}
        for mapping in reversed(variables):
            self._variables.update(
                {name.lower(): value for name, value in mapping.items() if value is not None}
            )

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole value comes from __call__

    def __call__(self) -> dict[str, Any]:
        if "oauth_provider_settings" in self.current_state:  # given in code: that wins
            return {}
        listed = self.current_state.get("oauth_providers", [])
        ids = [part.strip() for part in listed.split(",")] if isinstance(listed, str) else listed
        found = {
            provider: {
                key: self._variables[f"oauth_{provider.lower()}_{key}"]
                for key in PROVIDER_KEYS
                if f"oauth_{provider.lower()}_{key}" in self._variables
            }
            for provider in ids
            if isinstance(provider, str) and provider
        }
        return {"oauth_provider_settings": found} if found else {}


class SocialSettings(CoreSettings):
    """Social sign-in: OpenID Connect providers and the redirect URIs clients may use."""

    oauth_providers: CommaList = Field(
        default=[],
        description=(
            "Comma-separated provider ids (lower-case letters and digits); each id `X` is "
            "configured by `OAUTH_X_ISSUER`, `OAUTH_X_CLIENT_ID`, `OAUTH_X_CLIENT_SECRET`, "
            "`OAUTH_X_SCOPES` (default `openid email profile`), `OAUTH_X_DISPLAY_NAME` "
            "(default the id) and `OAUTH_X_TRUST_EMAIL` (default `false`). `github` is a "
            "preset (OAuth 2.0, no OpenID Connect) that needs only the client id and secret; "
            "its issuer may name a GitHub Enterprise Server."
        ),
    )
    oauth_redirect_uris: CommaList = Field(
        default=[],
        description=(
            "Comma-separated redirect URIs that clients may ask for, matched exactly; "
            "register the same ones at each provider."
        ),
    )
    oauth_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description=(
            "How long one call to a provider (discovery, keys, the code exchange, userinfo) "
            "may take before the sign-in is answered PROVIDER_UNAVAILABLE."
        ),
    )
    oauth_provider_settings: dict[str, dict[str, str]] = Field(
        default={},
        description=(
            "Read from the `OAUTH_<ID>_*` variables of the ids in `OAUTH_PROVIDERS`; "
            "not set directly."
        ),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        variables = [getattr(source, "env_vars", {}) for source in (env_settings, dotenv_settings)]
        providers = ProviderSettingsSource(settings_cls, *variables)
        return init_settings, env_settings, dotenv_settings, providers, file_secret_settings

    @field_validator("oauth_providers")
    @classmethod
    def _check_ids(cls, value: list[str]) -> list[str]:
        for provider in value:
            if not PROVIDER_ID.fullmatch(provider):
                raise ValueError(
                    f"{provider!r} is not a provider id (lower-case letters and digits, "
                    "starting with a letter, at most 32)"
                )
        if len(set(value)) != len(value):
            raise ValueError("a provider is listed twice")
        return value

    @field_validator("oauth_redirect_uris")
    @classmethod
    def _check_redirect_uris(cls, value: list[str]) -> list[str]:
        for uri in value:
            parts = urlsplit(uri)
            if parts.scheme not in {"http", "https"} or not parts.hostname or parts.fragment:
                raise ValueError(f"{uri!r} is not an absolute http(s) URI without a fragment")
        return value

    @model_validator(mode="after")
    def _providers_are_whole(self) -> Self:
        _ = self.social_providers  # every listed provider parses, or a ValueError naming it
        return self

    @cached_property
    def social_providers(self) -> dict[str, ProviderConfig]:
        """The configured providers by id, in OAUTH_PROVIDERS' order."""
        return {
            provider: self._provider(provider, self.oauth_provider_settings.get(provider, {}))
            for provider in self.oauth_providers
        }

    def _provider(self, provider: str, values: Mapping[str, str]) -> ProviderConfig:
        prefix = f"OAUTH_{provider.upper()}_"
        github = provider == GITHUB
        required = (
            ("client_id", "client_secret") if github else ("issuer", "client_id", "client_secret")
        )
        missing = [prefix + key.upper() for key in required if not values.get(key, "").strip()]
        if missing:
            raise ValueError(f"{', '.join(missing)} must be set for provider {provider}")
        issuer = (values.get("issuer", "").strip() or (GITHUB_COM if github else "")).rstrip("/")
        parts = urlsplit(issuer)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{prefix}ISSUER must be an http(s) URL")
        if self.is_production and parts.scheme != "https" and not _loopback(parts.hostname):
            raise ValueError(f"{prefix}ISSUER must use https in production (or be loopback)")
        trust = values.get("trust_email", "false").strip().lower()
        if trust not in _TRUE | _FALSE:
            raise ValueError(f"{prefix}TRUST_EMAIL must be true or false")
        scopes = tuple(values.get("scopes", "").split()) or (
            GITHUB_SCOPES if github else DEFAULT_SCOPES
        )
        if github and "user:email" not in scopes:
            raise ValueError(f"{prefix}SCOPES must include user:email (the address comes from it)")
        if not github and "openid" not in scopes:
            raise ValueError(f"{prefix}SCOPES must include openid")
        return ProviderConfig(
            id=provider,
            display_name=values.get("display_name", "").strip()
            or ("GitHub" if github else provider),
            issuer=issuer,
            client_id=values["client_id"].strip(),
            client_secret=SecretStr(values["client_secret"].strip()),
            scopes=scopes,
            trust_email=trust in _TRUE,
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
