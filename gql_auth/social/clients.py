"""The provider clients behind one face: OpenID Connect providers, and the `github` preset."""

from __future__ import annotations

from typing import Protocol

from gql_auth.social.github import GithubClient
from gql_auth.social.identity import Identity
from gql_auth.social.oidc import OidcClient
from gql_auth.social.outbound import Outbound
from gql_auth.social.settings import ProviderConfig


class ProviderClient(Protocol):
    """What the sign-in flow asks of a provider, whatever protocol it speaks."""

    async def authorization_url(
        self,
        provider: ProviderConfig,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_verifier: str,
    ) -> str: ...

    async def identity(
        self,
        provider: ProviderConfig,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        nonce: str,
    ) -> Identity: ...


class ProviderClients:
    """Built once per app; `of(provider)` is the client that speaks the provider's protocol."""

    def __init__(self, providers: dict[str, ProviderConfig], *, timeout_seconds: float) -> None:
        self._outbound = Outbound(timeout_seconds=timeout_seconds)
        github = {key: value for key, value in providers.items() if value.is_github}
        oidc = {key: value for key, value in providers.items() if not value.is_github}
        self._github = GithubClient(github, self._outbound)
        self._oidc = OidcClient(oidc, self._outbound)

    def of(self, provider: ProviderConfig) -> ProviderClient:
        return self._github if provider.is_github else self._oidc

    async def aclose(self) -> None:
        await self._oidc.aclose()
        await self._github.aclose()
        await self._outbound.aclose()
