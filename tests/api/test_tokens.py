"""Access tokens: their claims, and every way a token can be tampered with. Revoked and
expired sessions (states and times the database stores) are in tests/db/test_tokens.py."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.support.forgeries import FORGERIES, expired, resign
from tests.support.helpers import (
    AUDIENCE,
    ISSUER,
    ME,
    PUBLIC_USER,
    SqlDatabase,
    assert_error,
    claims_of,
    data_of,
    gql,
    login,
    make_settings,
    register,
    running_app,
)


class TestClaims:
    async def test_access_token_carries_the_contract_claims(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        before = int(time.time())
        payload = await register(client)

        claims = claims_of(payload["accessToken"])

        assert claims["sub"] == str(payload["user"]["id"])
        assert claims["role"] == "USER"
        assert claims["type"] == "access"
        assert claims["iss"] == ISSUER
        assert claims["aud"] == AUDIENCE
        assert claims["jti"]
        assert before - 5 <= claims["iat"] <= int(time.time()) + 5
        assert claims["exp"] - claims["iat"] == 15 * 60 == payload["expiresIn"]
        (session,) = database.rows("sessions")
        assert claims["sid"] == session["id"]

    async def test_every_token_has_its_own_jti_and_session(self, client: httpx.AsyncClient) -> None:
        first = await register(client, "twice")
        second = claims_of((await login(client, "twice"))["accessToken"])

        assert claims_of(first["accessToken"])["jti"] != second["jti"]
        assert claims_of(first["accessToken"])["sid"] != second["sid"]

    async def test_token_lifetime_follows_the_setting(self, database: SqlDatabase) -> None:
        async with running_app(make_settings(database.url, access_token_expire_minutes=5)) as app:
            payload = await register(app)

        claims = claims_of(payload["accessToken"])
        assert payload["expiresIn"] == 300
        assert claims["exp"] - claims["iat"] == 300


class TestProtectedQuery:
    async def test_me_with_a_valid_token_returns_the_caller(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client, "valid", "valid@example.com")

        me = data_of(await gql(client, ME, token=payload["accessToken"]), "me")

        assert me == {
            "id": payload["user"]["id"],
            "username": "valid",
            "email": "valid@example.com",
            "role": "USER",
            "isActive": True,
        }

    async def test_me_without_a_token_is_unauthenticated(self, client: httpx.AsyncClient) -> None:
        body = await gql(client, ME)

        assert_error(body, "UNAUTHENTICATED", path=["me"])
        assert body["data"] is None

    async def test_me_with_an_invalid_token_is_unauthenticated(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, ME, token="invalid-token")

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")
        assert body["data"] is None

    @pytest.mark.parametrize(
        "header",
        ["Token abc", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer-abc", "Bearerabc"],
    )
    async def test_a_malformed_authorization_header_is_unauthenticated(
        self, client: httpx.AsyncClient, header: str
    ) -> None:
        body = await gql(client, ME, headers={"Authorization": header})

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")

    async def test_the_bearer_scheme_is_case_insensitive(self, client: httpx.AsyncClient) -> None:
        payload = await register(client)

        body = await gql(client, ME, headers={"Authorization": f"bearer {payload['accessToken']}"})

        assert data_of(body, "me")["id"] == payload["user"]["id"]


class TestTamperedTokens:
    @pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
    async def test_a_forged_token_is_token_invalid(
        self, client: httpx.AsyncClient, forge: Callable[[str], str]
    ) -> None:
        payload = await register(client)

        body = await gql(client, ME, token=forge(payload["accessToken"]))

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")
        assert body["data"] is None

    async def test_a_resigned_token_with_an_ordinary_header_is_accepted(
        self, client: httpx.AsyncClient
    ) -> None:
        """The contrast for the crit forgeries: re-signing with headers alone is no forgery."""
        payload = await register(client)

        token = resign(payload["accessToken"], headers={"kid": "k1", "cty": "JWT"})

        assert data_of(await gql(client, ME, token=token), "me")["id"] == payload["user"]["id"]

    async def test_an_expired_token_with_a_crit_header_is_token_invalid(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)
        now = int(time.time())
        token = resign(payload["accessToken"], headers={"crit": ["exp"]}, exp=now - 60)

        assert_error(await gql(client, ME, token=token), "UNAUTHENTICATED", reason="TOKEN_INVALID")

    async def test_an_expired_token_is_token_expired(self, client: httpx.AsyncClient) -> None:
        payload = await register(client)

        body = await gql(client, ME, token=expired(payload["accessToken"]))

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_EXPIRED")

    async def test_an_expired_token_signed_with_a_foreign_key_is_token_invalid(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)
        now = int(time.time())
        token = resign(payload["accessToken"], key="x" * 40, iat=now - 3600, exp=now - 60)

        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")

    @pytest.mark.parametrize(
        "forge",
        [FORGERIES["alg-none"], FORGERIES["foreign-key"], expired],
        ids=["alg-none", "foreign-key", "expired"],
    )
    async def test_a_bad_token_does_not_break_public_fields(
        self, client: httpx.AsyncClient, forge: Callable[[str], str]
    ) -> None:
        payload = await register(client, "public")

        body = await gql(
            client, PUBLIC_USER, {"id": payload["user"]["id"]}, token=forge(payload["accessToken"])
        )

        assert data_of(body, "user")["username"] == "public"
