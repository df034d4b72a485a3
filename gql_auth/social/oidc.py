"""OpenID Connect with Authlib: discovery, PKCE, the code exchange, and the ID token checked.

Nothing a provider says is trusted until its ID token checks out: the
signature against the provider's JWKS (kept, fetched again once for an
unknown `kid`), `iss`, `aud` (and `azp`), `exp`/`iat`, the `nonce` this
server issued, and no `crit` header (python-jose ignores it). Every outbound
call has a timeout and shares a per-process bound; a provider that is down,
slow or answers nonsense is ProviderUnavailable, never a hang or a 500.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from jose import JWTError, jwt

from gql_auth.core.errors import InvalidCredentials, ProviderUnavailable
from gql_auth.social.identity import Identity
from gql_auth.social.outbound import Outbound, unavailable
from gql_auth.social.settings import ProviderConfig

METADATA_TTL_SECONDS = 3600.0
# A kid the JWKS did not have even after fetching it again is not fetched for again
# for this long: a provider that keeps naming it cannot make us fetch on every sign-in.
UNKNOWN_KID_SECONDS = 300.0
MAX_UNKNOWN_KIDS = 1000
# Asymmetric only: an HS* ID token would be signed with our client secret.
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"})
CLOCK_SKEW_SECONDS = 60
# Codes a provider refused as bad: the caller's fault, answered as a failed sign-in.
_REFUSED_GRANTS = frozenset({"invalid_grant", "invalid_request"})


@dataclass(frozen=True, slots=True)
class Metadata:
    """The parts of a provider's discovery document this client uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: frozenset[str]


class OidcClient:
    """One per app: the providers' metadata and keys, and the HTTP clients that reach them."""

    def __init__(self, providers: dict[str, ProviderConfig], outbound: Outbound) -> None:
        self._outbound = outbound
        self._oauth = {
            provider.id: outbound.oauth_client(provider) for provider in providers.values()
        }
        self._metadata: dict[str, tuple[float, Metadata]] = {}
        self._keys: dict[str, dict[str, Any]] = {}
        self._unknown_kids: dict[tuple[str, str], float] = {}

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
        """The provider's authorization URL with state, nonce and the S256 challenge."""
        metadata = await self.metadata(provider)
        url, _ = self._oauth[provider.id].create_authorization_url(
            metadata.authorization_endpoint,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            nonce=nonce,
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
        """Exchanges the code (with the verifier) and returns the identity its ID token names."""
        metadata = await self.metadata(provider)
        token = await self._outbound.fetch_token(
            self._oauth[provider.id],
            provider,
            metadata.token_endpoint,
            refused=_REFUSED_GRANTS,
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
        )
        id_token = token.get("id_token")
        access_token = token.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise ProviderUnavailable("The provider answered without an ID token.")
        claims = await self._verified_claims(provider, metadata, id_token, access_token, nonce)
        if metadata.userinfo_endpoint is not None:
            info = await self._userinfo(provider, metadata.userinfo_endpoint, access_token)
            if info.get("sub") != claims["sub"]:  # OpenID Connect Core 5.3.2
                raise InvalidCredentials("The provider's answer did not check out.")
            claims = {**info, **claims}
        email = claims.get("email")
        return Identity(
            provider=provider.id,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) and email else None,
            email_verified=claims.get("email_verified") is True,
            name=_text(claims.get("name")),
            preferred_username=_text(claims.get("preferred_username")),
        )

    async def metadata(self, provider: ProviderConfig) -> Metadata:
        """The discovery document, kept for an hour; its issuer must be the configured one."""
        kept = self._metadata.get(provider.id)
        if kept is not None and time.monotonic() - kept[0] < METADATA_TTL_SECONDS:
            return kept[1]
        document = await self._get_json(
            provider, provider.issuer + "/.well-known/openid-configuration"
        )
        try:
            metadata = Metadata(
                issuer=_required(document, "issuer"),
                authorization_endpoint=_required(document, "authorization_endpoint"),
                token_endpoint=_required(document, "token_endpoint"),
                jwks_uri=_required(document, "jwks_uri"),
                userinfo_endpoint=_text(document.get("userinfo_endpoint")),
                algorithms=frozenset(document.get("id_token_signing_alg_values_supported") or ())
                & ALGORITHMS,
            )
        except (KeyError, TypeError):
            raise unavailable(provider, "an incomplete discovery document") from None
        if metadata.issuer.rstrip("/") != provider.issuer:  # OpenID Connect Discovery 4.3
            raise unavailable(provider, f"a discovery document for {metadata.issuer}")
        if not metadata.algorithms:
            raise unavailable(provider, "no signing algorithm we accept")
        self._metadata[provider.id] = (time.monotonic(), metadata)
        return metadata

    async def _verified_claims(
        self,
        provider: ProviderConfig,
        metadata: Metadata,
        id_token: str,
        access_token: str,
        nonce: str,
    ) -> dict[str, Any]:
        refused = InvalidCredentials("The provider's answer did not check out.")
        try:
            header = jwt.get_unverified_header(id_token)
        except JWTError:
            raise refused from None
        algorithm = header.get("alg")
        if "crit" in header or algorithm not in metadata.algorithms:
            raise refused
        key = await self._key(provider, metadata, header.get("kid"))
        if key is None:
            raise refused
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[algorithm],
                audience=provider.client_id,
                issuer=metadata.issuer,
                access_token=access_token,  # at_hash, when the token has one
                options={"require_exp": True, "require_iat": True, "leeway": CLOCK_SKEW_SECONDS},
            )
        except JWTError:
            raise refused from None
        audiences = claims.get("aud")
        several = isinstance(audiences, list) and len(audiences) > 1
        if several and claims.get("azp") != provider.client_id:
            raise refused
        if claims.get("iat", 0) > time.time() + CLOCK_SKEW_SECONDS:
            raise refused
        claimed_nonce = claims.get("nonce")
        if not isinstance(claimed_nonce, str) or not hmac.compare_digest(claimed_nonce, nonce):
            raise refused
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise refused
        return claims

    async def _key(
        self, provider: ProviderConfig, metadata: Metadata, kid: object
    ) -> dict[str, Any] | None:
        """The JWK for this kid; a kid not in the kept set fetches the set again, once.

        A provider rotating its keys names a new kid before we saw it: the set is
        fetched again then. A kid still missing after that is remembered for a while.
        """
        kept = self._keys.get(provider.id)
        found = _find_key(kept, kid) if kept is not None else None
        if found is not None:
            return found
        missing = (provider.id, str(kid))
        if time.monotonic() - self._unknown_kids.get(missing, -UNKNOWN_KID_SECONDS) < (
            UNKNOWN_KID_SECONDS
        ):
            return None
        keys = await self._get_json(provider, metadata.jwks_uri)
        if not isinstance(keys.get("keys"), list):
            raise unavailable(provider, "a JWKS without keys")
        self._keys[provider.id] = keys
        found = _find_key(keys, kid)
        if found is None:
            if len(self._unknown_kids) >= MAX_UNKNOWN_KIDS:
                self._unknown_kids.clear()
            self._unknown_kids[missing] = time.monotonic()
        return found

    async def _userinfo(
        self, provider: ProviderConfig, endpoint: str, access_token: str
    ) -> dict[str, Any]:
        return await self._get_json(
            provider, endpoint, headers={"Authorization": f"Bearer {access_token}"}
        )

    async def _get_json(
        self, provider: ProviderConfig, url: str, *, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        document = await self._outbound.get_json(provider, url, headers=headers)
        if not isinstance(document, dict):
            raise unavailable(provider, f"{url}: not a JSON object")
        return document


def _find_key(keys: dict[str, Any], kid: object) -> dict[str, Any] | None:
    for key in keys.get("keys", []):
        if isinstance(key, dict) and key.get("kid") == kid and key.get("use", "sig") == "sig":
            return key
    return None


def _required(document: dict[str, Any], name: str) -> str:
    value = document[name]
    if not isinstance(value, str) or not value:
        raise TypeError(name)
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
