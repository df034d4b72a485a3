"""The provider clients behind one face: OpenID Connect providers, and the `github` preset."""

from __future__ import annotations

from gql_auth.social.github import GithubClient
from gql_auth.social.identity import Identity
from gql_auth.social.oidc import OidcClient
from gql_auth.social.outbound import Outbound
from gql_auth.social.settings import ProviderConfig


class ProviderClients:
    """Built once per app; each call goes to the client that speaks the provider's protocol."""

    def __init__(self, providers: dict[str, ProviderConfig], *, timeout_seconds: float) -> None:
        self._outbound = Outbound(timeout_seconds=timeout_seconds)
        github = {key: value for key, value in providers.items() if value.is_github}
        oidc = {key: value for key, value in providers.items() if not value.is_github}
        self._github = GithubClient(github, self._outbound)
        self._oidc = OidcClient(oidc, self._outbound)

    def _for(self, provider: ProviderConfig) -> OidcClient | GithubClient:
        return self._github if provider.is_github else self._oidc

    async def authorization_url(
        self,
        provider: ProviderConfig,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_verifier: str,
    ) -> str:
        return await self._for(provider).authorization_url(
            provider,
            redirect_uri=redirect_uri,
            state=state,
            nonce=nonce,
            code_verifier=code_verifier,
        )

    async def identity(
        self,
        provider: ProviderConfig,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        nonce: str,
    ) -> Identity:
        return await self._for(provider).identity(
            provider, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier, nonce=nonce
        )

    async def aclose(self) -> None:
        await self._oidc.aclose()
        await self._github.aclose()
        await self._outbound.aclose()
