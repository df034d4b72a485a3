"""Calls to providers: one bounded, time-limited HTTP client per app, and its failure mode.

Every provider call goes through here: at most MAX_OUTBOUND in flight per
process, each with a deadline for the whole call (httpx's timeouts are per
read, and a provider could drip bytes). A provider that is down, slow or
answers nonsense becomes ProviderUnavailable; the log says what, without
secrets, and the client learns only that the provider failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from gql_auth.core.errors import InvalidCredentials, ProviderUnavailable
from gql_auth.social.settings import ProviderConfig

logger = logging.getLogger("gql_auth.social")

# Calls to providers in flight at once per process; more wait their turn.
MAX_OUTBOUND = 16


class Outbound:
    """The HTTP side shared by every provider's client."""

    def __init__(self, *, timeout_seconds: float) -> None:
        self.limits = httpx2.Limits(max_connections=MAX_OUTBOUND)
        self.timeout = httpx2.Timeout(timeout_seconds)
        self._deadline = timeout_seconds
        self._http = httpx2.AsyncClient(timeout=self.timeout, limits=self.limits)
        self._gate = asyncio.Semaphore(MAX_OUTBOUND)

    def oauth_client(self, provider: ProviderConfig) -> AsyncOAuth2Client:
        """Authlib's OAuth 2.0 client for one provider: PKCE S256, client_secret_basic."""
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret.get_secret_value(),
            scope=" ".join(provider.scopes),
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
            timeout=self.timeout,
            limits=self.limits,
        )

    @asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """A turn at the gate and the deadline for one whole call."""
        async with self._gate, asyncio.timeout(self._deadline):
            yield

    async def get_json(
        self, provider: ProviderConfig, url: str, *, headers: Mapping[str, str] | None = None
    ) -> Any:
        """The JSON a provider answers a GET with; ProviderUnavailable for anything else."""
        try:
            async with self.call():
                response = await self._http.get(url, headers=dict(headers or {}))
            response.raise_for_status()
            return response.json()
        except (httpx2.HTTPError, ValueError, TimeoutError) as error:
            raise unavailable(provider, f"{url}: {type(error).__name__}") from None

    async def fetch_token(
        self,
        client: AsyncOAuth2Client,
        provider: ProviderConfig,
        url: str,
        *,
        refused: frozenset[str],
        **parameters: Any,
    ) -> dict[str, Any]:
        """The token endpoint's answer to an authorization code.

        An OAuth error in `refused` means the code (or its verifier) was bad:
        InvalidCredentials, a failed sign-in. Any other failure is the provider's.
        """
        try:
            async with self.call():
                token = await client.fetch_token(url, grant_type="authorization_code", **parameters)
        except OAuthError as error:
            if error.error in refused:
                raise InvalidCredentials("The provider did not accept the code.") from None
            raise unavailable(provider, f"the token endpoint's {error.error}") from None
        except (httpx2.HTTPError, ValueError, TimeoutError) as error:
            raise unavailable(provider, f"the token endpoint: {type(error).__name__}") from None
        if not isinstance(token, dict):
            raise unavailable(provider, "a token response that is not an object")
        return dict(token)

    async def aclose(self) -> None:
        await self._http.aclose()


def unavailable(provider: ProviderConfig, what: str) -> ProviderUnavailable:
    logger.warning("provider %s: %s", provider.id, what)
    return ProviderUnavailable()
