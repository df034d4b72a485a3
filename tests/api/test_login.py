"""login: by username or e-mail in any case, one answer for every failure, rehash on login."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.helpers import (
    LOGIN,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    make_settings,
    register,
    running_app,
)


async def login_body(client: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    return await gql(client, LOGIN, {"input": {"username": username, "password": password}})


class TestLogin:
    async def test_login_returns_tokens_for_the_user(self, client: httpx.AsyncClient) -> None:
        registered = await register(client, "dora", "dora@example.com")

        payload = await login(client, "dora")

        assert payload["user"]["id"] == registered["user"]["id"]
        assert payload["user"]["email"] == "dora@example.com"
        assert payload["tokenType"] == "Bearer"
        assert payload["expiresIn"] == 15 * 60
        assert payload["accessToken"] != registered["accessToken"]
        assert payload["refreshToken"] != registered["refreshToken"]
        assert payload["user"]["lastLoginAt"] is not None
        me = data_of(await gql(client, ME, token=payload["accessToken"]), "me")
        assert me["username"] == "dora"

    async def test_each_login_opens_its_own_session(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "eve")

        await login(client, "eve")
        await login(client, "eve")

        assert database.count("sessions") == 3

    async def test_login_with_the_username_in_another_case_works(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client, "Frank")

        payload = await login(client, "fRANK")

        assert payload["user"]["id"] == registered["user"]["id"]
        assert payload["user"]["username"] == "Frank"

    async def test_login_with_the_email_in_any_case_works(self, client: httpx.AsyncClient) -> None:
        registered = await register(client, "grace", "Grace@Example.com")

        for login_name in ("grace@example.com", "GRACE@EXAMPLE.COM", "Grace@Example.com"):
            payload = await login(client, login_name)
            assert payload["user"]["id"] == registered["user"]["id"]

    async def test_login_ignores_a_bad_bearer_token(self, client: httpx.AsyncClient) -> None:
        await register(client, "heidi")

        payload = await login(client, "heidi", token="garbage.token.here")

        assert payload["user"]["username"] == "heidi"

    async def test_login_with_wrong_password_is_unauthenticated(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "ivan")

        body = await login_body(client, "ivan", "Wrong-" + STRONG_PASSWORD)

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert body.get("data") is None

    async def test_login_with_unknown_user_is_unauthenticated(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await login_body(client, "nobody-here", STRONG_PASSWORD)

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert body.get("data") is None

    async def test_login_of_an_inactive_user_is_unauthenticated(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client, "judy")
        database.update_user(registered["user"]["id"], is_active=False)

        body = await login_body(client, "judy", STRONG_PASSWORD)

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert body.get("data") is None

    async def test_every_login_failure_gives_the_identical_error(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        """Nothing in the answer tells whether the account exists or is active."""
        registered = await register(client, "mallory")
        await register(client, "trent")
        wrong_password = await login_body(client, "mallory", "Wrong-" + STRONG_PASSWORD)
        unknown_user = await login_body(client, "nobody-at-all", STRONG_PASSWORD)
        unknown_email = await login_body(client, "nobody@example.com", STRONG_PASSWORD)
        database.update_user(registered["user"]["id"], is_active=False)
        inactive = await login_body(client, "mallory", STRONG_PASSWORD)

        def shape(body: dict[str, Any]) -> tuple[object, ...]:
            (error,) = body["errors"]
            return (body.get("data"), error["message"], error["extensions"], error.get("path"))

        assert shape(wrong_password) == shape(unknown_user) == shape(unknown_email)
        assert shape(wrong_password) == shape(inactive)

    async def test_failed_logins_are_recorded_as_security_events(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "oscar")

        await login_body(client, "oscar", "Wrong-" + STRONG_PASSWORD)
        await login_body(client, "nobody-known", STRONG_PASSWORD)

        kinds = [row["kind"] for row in database.rows("security_events")]
        assert kinds.count("LOGIN_FAILED") == 2

    async def test_an_empty_or_oversized_password_is_unauthenticated(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "peggy")

        for password in ("", "x" * 10_000):
            body = await login_body(client, "peggy", password)
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")


class TestRehash:
    async def test_login_upgrades_a_hash_made_with_weaker_parameters(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(make_settings(database.url, argon2_time_cost=1)) as client:
            await register(client, "rupert")
        old_hash = database.user_row("rupert")["password_hash"]
        assert "t=1" in old_hash

        async with running_app(make_settings(database.url, argon2_time_cost=2)) as client:
            await login(client, "rupert")
            new_hash = database.user_row("rupert")["password_hash"]
            again = await login(client, "rupert")

        assert new_hash != old_hash
        assert new_hash.startswith("$argon2id$")
        assert ",t=2," in new_hash
        assert again["user"]["username"] == "rupert"

    async def test_login_keeps_a_hash_whose_parameters_are_current(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "sybil")
        before = database.user_row("sybil")["password_hash"]

        await login(client, "sybil")

        assert database.user_row("sybil")["password_hash"] == before
