"""GitHub (and GitHub Enterprise Server): OAuth 2.0 without OpenID Connect.

There is no ID token to check: who signed in is what GitHub's API says the
access token belongs to, fetched over TLS from GitHub itself right after the
code exchange (with the PKCE verifier). The subject is the numeric user id
(a login can be renamed and reused); the address is the primary one from the
e-mails API, verified only when GitHub says so.
"""

from __future__ import annotations

from typing import Any

from gql_auth.social.identity import Identity
from gql_auth.social.outbound import Outbound, unavailable
from gql_auth.social.settings import ProviderConfig

# GitHub's answers to a code that is wrong, used or expired, or a verifier that is not its.
_REFUSED_CODES = frozenset({"bad_verification_code", "invalid_grant"})
_API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


class GithubClient:
    """One per app, for the `github` provider if it is configured."""

    def __init__(self, providers: dict[str, ProviderConfig], outbound: Outbound) -> None:
        self._outbound = outbound
        self._oauth = {
            provider.id: outbound.oauth_client(provider) for provider in providers.values()
        }

    async def aclose(self) -> None:
        for client in self._oauth.values():
            await client.aclose()

    async def authorization_url(
        self,
        provider: ProviderConfig,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_verifier: str,
    ) -> str:
        """GitHub's authorize URL with state and the S256 challenge (no nonce: no ID token)."""
        del nonce
        url, _ = self._oauth[provider.id].create_authorization_url(
            provider.issuer + "/login/oauth/authorize",
            state=state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
        )
        return str(url)

    async def identity(
        self,
        provider: ProviderConfig,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        nonce: str,
    ) -> Identity:
        del nonce
        token = await self._outbound.fetch_token(
            self._oauth[provider.id],
            provider,
            provider.issuer + "/login/oauth/access_token",
            refused=_REFUSED_CODES,
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            headers={"Accept": "application/json"},
        )
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise unavailable(provider, "a token response without an access token")
        headers = {**_API_HEADERS, "Authorization": f"Bearer {access_token}"}
        user = await self._outbound.get_json(provider, provider.api_base + "/user", headers=headers)
        emails = await self._outbound.get_json(
            provider, provider.api_base + "/user/emails", headers=headers
        )
        if not isinstance(user, dict) or not isinstance(user.get("id"), int):
            raise unavailable(provider, "a user without an id")
        if not isinstance(emails, list):
            raise unavailable(provider, "an e-mail list that is not a list")
        email, verified = _primary_address(emails)
        login = user.get("login")
        name = user.get("name")
        return Identity(
            provider=provider.id,
            subject=str(user["id"]),
            email=email,
            email_verified=verified,
            name=name if isinstance(name, str) and name else None,
            preferred_username=login if isinstance(login, str) and login else None,
        )


def _primary_address(emails: list[Any]) -> tuple[str | None, bool]:
    """The primary address and whether GitHub verified it; (None, False) when there is none."""
    for entry in emails:
        if isinstance(entry, dict) and entry.get("primary") is True:
            address = entry.get("email")
            if isinstance(address, str) and address:
                return address, entry.get("verified") is True
    return None, False
