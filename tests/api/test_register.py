"""register: success, input rules and how passwords are stored. Uniqueness in any case and
registration races are in tests/db/test_register.py."""

from __future__ import annotations

import httpx
import pytest

from tests.support.helpers import (
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    gql,
    register,
    register_body,
)


class TestRegister:
    async def test_register_returns_tokens_and_the_new_user(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client, "Alice", "alice@example.com")

        assert payload["tokenType"] == "Bearer"
        assert payload["expiresIn"] == 15 * 60
        assert payload["accessToken"].count(".") == 2
        assert len(payload["refreshToken"]) >= 43
        user = payload["user"]
        assert user["username"] == "Alice"
        assert user["email"] == "alice@example.com"
        assert user["role"] == "USER"
        assert user["isActive"] is True
        assert user["emailVerified"] is False
        assert database.count("users") == 1
        assert database.count("sessions") == 1

    async def test_register_stores_the_email_lower_cased(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client, "Mixed", "Mixed.Case@Example.COM")

        assert payload["user"]["email"] == "mixed.case@example.com"
        assert database.user_row("Mixed")["email"] == "mixed.case@example.com"

    async def test_register_with_a_missing_field_is_a_validation_error(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = await gql(
            client,
            'mutation { register(input: {username: "nopass", email: "nopass@example.com"}) '
            "{ accessToken } }",
        )

        error = assert_error(body, "GRAPHQL_VALIDATION_FAILED")
        assert "password" in error["message"]
        assert database.count("users") == 0

    async def test_register_with_a_missing_variable_field_is_bad_user_input(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = await gql(
            client, REGISTER, {"input": {"username": "nopass", "email": "nopass@example.com"}}
        )

        error = assert_error(body, "BAD_USER_INPUT")
        assert "password" in error["message"]
        assert database.count("users") == 0

    async def test_register_cannot_choose_a_role(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = await gql(
            client,
            'mutation { register(input: {username: "sneaky", email: "sneaky@example.com", '
            f'password: "{STRONG_PASSWORD}", role: ADMIN}}) {{ user {{ role }} }} }}',
        )

        assert_error(body, "GRAPHQL_VALIDATION_FAILED")
        assert database.count("users") == 0

    async def test_register_ignores_a_bad_bearer_token(self, client: httpx.AsyncClient) -> None:
        payload = await register(client, "tokenless", token="not-a-jwt")

        assert payload["user"]["username"] == "tokenless"
        assert payload["user"]["email"] == "tokenless@example.com"


# (field, value, reason): each rule refuses with BAD_USER_INPUT and creates nothing.
INPUT_RULES = [
    pytest.param("password", "Qx7!kp", "TOO_SHORT", id="password-too-short"),
    pytest.param("password", "Qx7!kp-Lantern-" * 18, "TOO_LONG", id="password-over-256"),
    pytest.param("password", "password123", "TOO_COMMON", id="password-common"),
    pytest.param("password", "aaaaaaaaaaaa", "TOO_COMMON", id="password-repetitive"),
    pytest.param("username", "ab", "TOO_SHORT", id="username-too-short"),
    pytest.param("username", "a" * 33, "TOO_LONG", id="username-too-long"),
    pytest.param("username", "bad name!", "INVALID", id="username-bad-characters"),
    pytest.param("username", "\u0430dmin", "INVALID", id="username-lookalike-unicode"),
    pytest.param("username", "ann@home", "INVALID", id="username-with-at-sign"),
    pytest.param("email", "not-an-email", "INVALID", id="email-no-at"),
    pytest.param("email", "ann@", "INVALID", id="email-no-domain"),
]


class TestInputRules:
    @pytest.mark.parametrize(("field", "value", "reason"), INPUT_RULES)
    async def test_register_refuses_bad_input_and_creates_nothing(
        self,
        client: httpx.AsyncClient,
        database: SqlDatabase,
        field: str,
        value: str,
        reason: str,
    ) -> None:
        body = await register_body(client, **{field: value})

        error = assert_error(body, "BAD_USER_INPUT", field=field, reason=reason)
        assert error["message"]
        assert body.get("data") is None
        assert database.count("users") == 0
        assert database.count("sessions") == 0

    async def test_a_password_of_exactly_256_characters_is_accepted(
        self, client: httpx.AsyncClient
    ) -> None:
        password = ("Qx7!kp-Lantern-" * 18)[:256]

        payload = await register(client, password=password)

        assert payload["user"]["role"] == "USER"

    @pytest.mark.parametrize("username", ["abc", "a" * 32, "a.b_c-9"])
    async def test_usernames_at_the_limits_are_accepted(
        self, client: httpx.AsyncClient, username: str
    ) -> None:
        payload = await register(client, username)

        assert payload["user"]["username"] == username


class TestPasswordStorage:
    async def test_the_stored_password_is_an_argon2id_hash(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "hashed")

        stored = database.user_row("hashed")["password_hash"]

        assert stored.startswith("$argon2id$")
        assert STRONG_PASSWORD not in stored

    async def test_the_plain_password_is_stored_nowhere(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "secretive")

        for table in ("users", "sessions", "security_events"):
            for row in database.rows(table):
                assert not any(STRONG_PASSWORD in str(value) for value in row.values()), table

    async def test_the_refresh_token_is_stored_only_as_a_hash(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)

        (session,) = database.rows("sessions")
        assert payload["refreshToken"] not in [str(value) for value in session.values()]
