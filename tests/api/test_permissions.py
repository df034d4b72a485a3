"""Who may read what: role-guarded dashboards, self-or-admin fields and public profiles."""

from __future__ import annotations

import httpx
import pytest

from tests.support.helpers import (
    ADMIN_DASHBOARD,
    PUBLIC_USER,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    register,
    register_admin,
)

PRIVATE_FIELDS = ["email", "emailVerified", "lastLoginAt"]
PROFILE = "query User($id: ID!) { user(id: $id) { id username email emailVerified lastLoginAt } }"
USER_DASHBOARD_USER = "query { userDashboard { user { id username } } }"


class TestRoles:
    async def test_a_user_can_read_the_user_dashboard(self, client: httpx.AsyncClient) -> None:
        payload = await register(client)

        body = await gql(client, USER_DASHBOARD_USER, token=payload["accessToken"])

        assert data_of(body, "userDashboard")["user"]["id"] == payload["user"]["id"]

    async def test_admin_can_use_a_user_field(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, USER_DASHBOARD_USER, token=admin["accessToken"])

        assert data_of(body, "userDashboard")["user"]["id"] == admin["user"]["id"]

    async def test_admin_field_works_for_admin(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, ADMIN_DASHBOARD, token=admin["accessToken"])

        assert data_of(body, "adminDashboard")["totalUsers"] == 1

    async def test_user_is_forbidden_the_admin_field(self, client: httpx.AsyncClient) -> None:
        payload = await register(client)

        body = await gql(client, ADMIN_DASHBOARD, token=payload["accessToken"])

        assert_error(body, "FORBIDDEN", path=["adminDashboard"])
        assert body["data"] is None

    async def test_admin_field_without_a_token_is_unauthenticated(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, ADMIN_DASHBOARD)

        assert_error(body, "UNAUTHENTICATED", path=["adminDashboard"])

    async def test_user_field_without_a_token_is_unauthenticated(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, USER_DASHBOARD_USER)

        assert_error(body, "UNAUTHENTICATED", path=["userDashboard"])

    async def test_the_role_comes_from_the_database_not_the_token(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        token = admin["accessToken"]
        assert data_of(await gql(client, ADMIN_DASHBOARD, token=token), "adminDashboard")

        database.update_user(admin["user"]["id"], role="USER")

        assert_error(await gql(client, ADMIN_DASHBOARD, token=token), "FORBIDDEN")
        me = data_of(await gql(client, "{ me { role } }", token=token), "me")
        assert me["role"] == "USER"

    async def test_a_promotion_applies_to_a_token_already_issued(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        assert_error(await gql(client, ADMIN_DASHBOARD, token=token), "FORBIDDEN")

        database.update_user(payload["user"]["id"], role="ADMIN")

        assert data_of(await gql(client, ADMIN_DASHBOARD, token=token), "adminDashboard")


class TestPrivateFields:
    @pytest.mark.parametrize("field", PRIVATE_FIELDS)
    async def test_another_users_private_field_is_forbidden(
        self, client: httpx.AsyncClient, field: str
    ) -> None:
        owner = await register(client, "owner")
        other = await register(client)

        body = await gql(
            client,
            f"query U($id: ID!) {{ user(id: $id) {{ username {field} }} }}",
            {"id": owner["user"]["id"]},
            token=other["accessToken"],
        )

        assert_error(body, "FORBIDDEN", path=["user", field])
        assert body["data"]["user"] == {"username": "owner", field: None}

    @pytest.mark.parametrize("field", PRIVATE_FIELDS)
    async def test_an_anonymous_callers_private_field_is_unauthenticated(
        self, client: httpx.AsyncClient, field: str
    ) -> None:
        owner = await register(client, "owner")

        body = await gql(
            client,
            f"query U($id: ID!) {{ user(id: $id) {{ username {field} }} }}",
            {"id": owner["user"]["id"]},
        )

        assert_error(body, "UNAUTHENTICATED", path=["user", field])
        assert body["data"]["user"] == {"username": "owner", field: None}

    async def test_a_user_sees_their_own_private_fields(self, client: httpx.AsyncClient) -> None:
        registered = await register(client, "self", "self@example.com")
        signed_in = await login(client, "self")

        body = await gql(
            client, PROFILE, {"id": registered["user"]["id"]}, token=signed_in["accessToken"]
        )

        user = data_of(body, "user")
        assert user["email"] == "self@example.com"
        assert user["emailVerified"] is False
        assert user["lastLoginAt"] is not None

    async def test_an_admin_sees_anyones_private_fields(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client, "owned", "owned@example.com")
        admin = await register_admin(client, database)

        body = await gql(client, PROFILE, {"id": owner["user"]["id"]}, token=admin["accessToken"])

        user = data_of(body, "user")
        assert user["username"] == "owned"
        assert user["email"] == "owned@example.com"
        assert user["emailVerified"] is False

    async def test_private_fields_in_recent_signups_are_visible_to_the_admin(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "signup", "signup@example.com")
        admin = await register_admin(client, database)

        body = await gql(
            client,
            "{ adminDashboard { recentSignups { username email } } }",
            token=admin["accessToken"],
        )

        signups = data_of(body, "adminDashboard")["recentSignups"]
        assert {"username": "signup", "email": "signup@example.com"} in signups

    async def test_the_auth_payload_shows_the_email_without_a_token(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client, "payload", "payload@example.com")
        signed_in = await login(client, "payload@example.com")

        assert registered["user"]["email"] == "payload@example.com"
        assert signed_in["user"]["email"] == "payload@example.com"
        assert signed_in["user"]["emailVerified"] is False

    async def test_a_bad_token_makes_private_fields_unauthenticated_not_the_profile(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client, "shown")

        body = await gql(
            client,
            "query U($id: ID!) { user(id: $id) { username email } }",
            {"id": owner["user"]["id"]},
            token="bad-token",
        )

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID", path=["user", "email"])
        assert body["data"]["user"] == {"username": "shown", "email": None}


class TestPublicProfile:
    @pytest.mark.parametrize(
        "user_id",
        ["999999", "0", "-1", "abc", "1e3", " 1", "\uff11", "9" * 19, "1" * 10_000],
        ids=[
            "unknown",
            "zero",
            "negative",
            "letters",
            "exponent",
            "space",
            "fullwidth",
            "19-digits",
            "10000-digits",
        ],
    )
    async def test_user_of_nobody_is_null_without_an_error(
        self, client: httpx.AsyncClient, user_id: str
    ) -> None:
        await register(client)

        body = await gql(client, PUBLIC_USER, {"id": user_id})

        assert body == {"data": {"user": None}}

    async def test_user_accepts_an_integer_id(self, client: httpx.AsyncClient) -> None:
        payload = await register(client, "numeric")

        body = await gql(client, PUBLIC_USER, {"id": int(payload["user"]["id"])})

        assert data_of(body, "user")["username"] == "numeric"

    async def test_user_with_an_id_of_the_wrong_type_is_bad_user_input(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, PUBLIC_USER, {"id": {"nested": 1}})

        assert_error(body, "BAD_USER_INPUT")
        assert body.get("data") is None
