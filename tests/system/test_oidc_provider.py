"""The OpenID Provider harness (tests/support/oidc_provider.py) on its own, no gql-auth in it.

The social sign-in tests trust it to be a real provider and to misbehave exactly as asked:
here a plain client (httpx and python-jose) runs the authorization code flow with PKCE
through it, and sees each test control once. Skipped without node and npm, failed without
them under CI=true.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

from tests.support.oidc_provider import (
    OidcClient,
    OidcLoginRefused,
    OidcProvider,
    Pkce,
    running_oidc_provider,
)

pytestmark = pytest.mark.slow

BASIC = OidcClient()
POST = OidcClient(
    client_id="post-client",
    client_secret="post-client-secret-0123456789abcdef",
    redirect_uris=("http://127.0.0.1:9/post/callback",),
    token_endpoint_auth_method="client_secret_post",
)


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_oidc_provider(clients=[BASIC, POST]) as running:
        yield running


@pytest.fixture(autouse=True)
async def _no_leftover_mode(provider: OidcProvider) -> AsyncIterator[None]:
    """A test that failed before its token request leaves no spoiled response to the next."""
    yield
    await provider.reset()


@dataclass(frozen=True)
class SignIn:
    """What the client keeps between sending the browser away and its return."""

    code: str
    pkce: Pkce
    nonce: str
    client: OidcClient


async def sign_in(
    provider: OidcProvider, *, login: str = "alice", client: OidcClient = BASIC
) -> SignIn:
    pkce, state, nonce = Pkce.new(), secrets.token_urlsafe(), secrets.token_urlsafe()
    url = provider.authorization_url(
        code_challenge=pkce.challenge, state=state, nonce=nonce, client=client
    )
    callback = await provider.authorize(url, login=login)
    assert callback["state"] == state, callback
    assert callback["iss"] == provider.issuer  # RFC 9207
    return SignIn(callback["code"], pkce, nonce, client)


async def exchange(
    provider: OidcProvider, signed_in: SignIn, *, timeout: float = 10
) -> httpx.Response:
    """The token request, authenticated as the client's registered method says."""
    client = signed_in.client
    form = {
        "grant_type": "authorization_code",
        "code": signed_in.code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": signed_in.pkce.verifier,
    }
    auth: httpx.BasicAuth | None = httpx.BasicAuth(client.client_id, client.client_secret)
    if client.token_endpoint_auth_method == "client_secret_post":
        form |= {"client_id": client.client_id, "client_secret": client.client_secret}
        auth = None
    async with httpx.AsyncClient(auth=auth, timeout=timeout) as http:
        return await http.post(provider.token_endpoint, data=form)


async def jwks(provider: OidcProvider) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as http:
        keys: dict[str, Any] = (await http.get(provider.jwks_uri)).json()
        return keys


async def verified(
    provider: OidcProvider,
    tokens: dict[str, Any],
    *,
    client: OidcClient = BASIC,
    options: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """The ID token's claims once the signature (JWKS), iss, aud, exp and at_hash hold;
    `options` turns python-jose checks off, e.g. {"verify_aud": False}."""
    claims: dict[str, Any] = jwt.decode(
        tokens["id_token"],
        await jwks(provider),
        algorithms=["RS256"],
        audience=client.client_id,
        issuer=provider.issuer,
        access_token=tokens["access_token"],
        options=options,
    )
    return claims


async def test_the_discovery_document_advertises_the_code_flow_with_s256(
    provider: OidcProvider,
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        discovery = (await http.get(provider.discovery_url)).json()

    assert provider.issuer.startswith("http://127.0.0.1:")
    assert discovery["issuer"] == provider.issuer
    assert discovery["authorization_endpoint"] == provider.authorization_endpoint
    assert discovery["token_endpoint"] == provider.token_endpoint
    assert discovery["jwks_uri"] == provider.jwks_uri
    assert discovery["userinfo_endpoint"] == provider.userinfo_endpoint
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        discovery["token_endpoint_auth_methods_supported"]
    )
    assert {"openid", "email", "profile"} <= set(discovery["scopes_supported"])
    assert discovery["authorization_response_iss_parameter_supported"] is True


async def test_the_jwks_publishes_one_public_rsa_signing_key(provider: OidcProvider) -> None:
    (key,) = (await jwks(provider))["keys"]

    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert "d" not in key


async def test_the_code_flow_with_pkce_gives_an_id_token_that_verifies(
    provider: OidcProvider,
) -> None:
    signed_in = await sign_in(provider, login="alice")
    response = await exchange(provider, signed_in)

    assert response.status_code == 200, response.text
    tokens = response.json()
    claims = await verified(provider, tokens)
    alice = provider.account("alice")
    assert claims["nonce"] == signed_in.nonce
    assert claims["sub"] == alice.sub
    assert claims["email"] == alice.email
    assert claims["email_verified"] is True
    assert claims["name"] == alice.name
    assert claims["preferred_username"] == "alice"
    async with httpx.AsyncClient(timeout=10) as http:
        userinfo = await http.get(
            provider.userinfo_endpoint,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    assert userinfo.json()["email"] == alice.email
    # The code is single use.
    assert (await exchange(provider, signed_in)).json()["error"] == "invalid_grant"


async def test_a_client_secret_post_client_and_an_unverified_email(
    provider: OidcProvider,
) -> None:
    signed_in = await sign_in(provider, login="bob", client=POST)
    response = await exchange(provider, signed_in)

    assert response.status_code == 200, response.text
    claims = await verified(provider, response.json(), client=POST)
    assert claims["sub"] == provider.account("bob").sub
    assert claims["email_verified"] is False


async def test_pkce_is_required_and_the_verifier_must_match(provider: OidcProvider) -> None:
    url = provider.authorization_url(code_challenge=None, state="s", nonce="n")
    without_pkce = await provider.authorize(url, login="alice")
    assert without_pkce["error"] == "invalid_request", without_pkce
    assert without_pkce["state"] == "s"

    signed_in = await sign_in(provider)
    wrong_verifier = SignIn(signed_in.code, Pkce.new(), signed_in.nonce, signed_in.client)
    response = await exchange(provider, wrong_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_an_unknown_login_is_refused_and_a_denied_consent_says_access_denied(
    provider: OidcProvider,
) -> None:
    pkce = Pkce.new()
    url = provider.authorization_url(code_challenge=pkce.challenge, state="s", nonce="n")

    with pytest.raises(OidcLoginRefused, match="unknown login: mallory"):
        await provider.authorize(url, login="mallory")
    denied = await provider.authorize(url, login="alice", consent=False)
    assert denied["error"] == "access_denied", denied
    assert denied["state"] == "s"
    assert "code" not in denied


@pytest.mark.parametrize(
    ("mode", "error", "skip"),
    [
        ("wrong_aud", JWTClaimsError, "verify_aud"),
        ("wrong_iss", JWTClaimsError, "verify_iss"),
        ("expired", ExpiredSignatureError, "verify_exp"),
    ],
)
async def test_a_resigned_id_token_fails_only_the_check_it_targets(
    provider: OidcProvider, mode: Any, error: type[Exception], skip: str
) -> None:
    await provider.next_token(mode)
    tokens = (await exchange(provider, await sign_in(provider))).json()

    with pytest.raises(error):
        await verified(provider, tokens)
    claims = await verified(provider, tokens, options={skip: False})  # the provider's signature
    assert claims["sub"] == provider.account("alice").sub
    if mode == "expired":
        assert claims["iat"] < claims["exp"] < time.time()
    # Only the next response was spoiled.
    await verified(provider, (await exchange(provider, await sign_in(provider))).json())


async def test_wrong_nonce_gives_a_valid_id_token_for_another_nonce(
    provider: OidcProvider,
) -> None:
    await provider.next_token("wrong_nonce")
    signed_in = await sign_in(provider)
    claims = await verified(provider, (await exchange(provider, signed_in)).json())

    assert claims["nonce"] != signed_in.nonce


@pytest.mark.parametrize("mode", ["foreign_key", "foreign_kid"])
async def test_an_id_token_from_a_foreign_key_does_not_verify(
    provider: OidcProvider, mode: Any
) -> None:
    published = {key["kid"] for key in (await jwks(provider))["keys"]}
    await provider.next_token(mode)
    tokens = (await exchange(provider, await sign_in(provider))).json()

    kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    assert (kid in published) is (mode == "foreign_key")
    with pytest.raises(JWTError):
        await verified(provider, tokens)


async def test_garbage_is_a_200_that_is_not_json_and_error_500_a_500(
    provider: OidcProvider,
) -> None:
    await provider.next_token("garbage")
    garbage = await exchange(provider, await sign_in(provider))
    assert garbage.status_code == 200
    with pytest.raises(ValueError, match="Expecting value"):
        garbage.json()

    await provider.next_token("error_500")
    assert (await exchange(provider, await sign_in(provider))).status_code == 500


async def test_hang_delays_the_response_past_a_client_timeout(provider: OidcProvider) -> None:
    await provider.next_token("hang", seconds=1)
    signed_in = await sign_in(provider)
    started = time.monotonic()
    late = await exchange(provider, signed_in)
    assert time.monotonic() - started >= 1
    assert late.status_code == 200

    await provider.next_token("hang", seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        await exchange(provider, await sign_in(provider), timeout=0.5)


async def test_rotated_keys_sign_under_a_new_kid_that_the_jwks_then_lists() -> None:
    with running_oidc_provider() as provider:  # its own: the others keep their first key
        (first,) = [key["kid"] for key in (await jwks(provider))["keys"]]
        kid = await provider.rotate_keys()
        tokens = (await exchange(provider, await sign_in(provider))).json()

        assert kid != first
        assert [key["kid"] for key in (await jwks(provider))["keys"]] == [kid, first]
        assert jwt.get_unverified_header(tokens["id_token"])["kid"] == kid
        await verified(provider, tokens)

        newest = await provider.rotate_keys(retire_previous=True)
        assert [key["kid"] for key in (await jwks(provider))["keys"]] == [newest]
        with pytest.raises(JWTError):  # signed by a retired key
            await verified(provider, tokens)
