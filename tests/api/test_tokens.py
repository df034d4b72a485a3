"""Access tokens: their claims, and every way a token can be tampered with, expire or be revoked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

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


class TestRevocation:
    async def test_a_token_of_a_revoked_session_is_token_revoked(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        database.update_session(claims_of(token)["sid"], revoked_at=datetime.now(UTC))

        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_token_of_an_expired_session_is_token_revoked(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        database.update_session(
            claims_of(token)["sid"], expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )

        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_token_of_a_deactivated_user_is_token_revoked(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        database.update_user(payload["user"]["id"], is_active=False)

        body = await gql(client, ME, token=payload["accessToken"])

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_revoking_one_session_leaves_the_others_working(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        first = await register(client, "multi")
        second = (await login(client, "multi"))["accessToken"]
        database.update_session(
            claims_of(first["accessToken"])["sid"], revoked_at=datetime.now(UTC)
        )

        assert data_of(await gql(client, ME, token=second), "me")["username"] == "multi"
        assert_error(
            await gql(client, ME, token=first["accessToken"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )

    async def test_a_well_signed_token_naming_an_unknown_session_is_token_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)

        token = resign(payload["accessToken"], sid="0" * 32)

        assert_error(await gql(client, ME, token=token), "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_token_whose_subject_does_not_own_its_session_is_token_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        victim = await register(client)
        attacker = await register(client)

        token = resign(attacker["accessToken"], sub=victim["user"]["id"])

        assert_error(await gql(client, ME, token=token), "UNAUTHENTICATED", reason="TOKEN_REVOKED")


class TestAcceptedTokensAreCheckedAgain:
    """A verified token is kept by its text; expiry and the session are still checked each time."""

    async def test_an_accepted_token_is_token_expired_once_its_time_is_up(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)
        expires = int(time.time()) + 1
        token = resign(payload["accessToken"], exp=expires)
        assert data_of(await gql(client, ME, token=token), "me")["id"] == payload["user"]["id"]

        while int(time.time()) <= expires:  # python-jose's rule: expired once now > exp
            await asyncio.sleep(0.1)
        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_EXPIRED")

    async def test_an_accepted_token_is_token_revoked_once_its_session_is(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        assert data_of(await gql(client, ME, token=token), "me")["id"] == payload["user"]["id"]

        database.update_session(claims_of(token)["sid"], revoked_at=datetime.now(UTC))
        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_forgery_of_an_accepted_token_is_still_token_invalid(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        assert data_of(await gql(client, ME, token=token), "me")["id"] == payload["user"]["id"]

        for forge in FORGERIES.values():
            body = await gql(client, ME, token=forge(token))
            assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")
