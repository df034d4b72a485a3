"""Administration through the app: role and active changes, the last-admin guard, the admin
dashboard. The users connection (search in any case, cursors) is in tests/db/test_admin.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.helpers import (
    ADMIN_DASHBOARD,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    make_settings,
    register,
    register_admin,
)
from tests.support.mailbox import running_mail_app

SET_ROLE = """
mutation R($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }"""
SET_ACTIVE = """
mutation A($userId: ID!, $active: Boolean!) {
  setUserActive(userId: $userId, active: $active) { id isActive }
}"""
REFRESH = "mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"
REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"
RESET = "mutation R($input: ResetPasswordInput!) { resetPassword(input: $input) }"
VERIFY = "mutation V($token: String!) { verifyEmail(token: $token) { email } }"
UPDATE_EMAIL = """
mutation U($email: String!, $password: String!) {
  updateProfile(input: {email: $email, currentPassword: $password}) { pendingEmail }
}"""


def event_kinds(database: SqlDatabase, user_id: str) -> list[str]:
    return [
        row["kind"] for row in database.rows("security_events") if row["user_id"] == int(user_id)
    ]


class TestSetUserRole:
    async def test_promotion_applies_to_the_users_existing_token(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        user = await register(client)
        assert_error(await gql(client, ADMIN_DASHBOARD, token=user["accessToken"]), "FORBIDDEN")

        body = await gql(
            client,
            SET_ROLE,
            {"userId": user["user"]["id"], "role": "ADMIN"},
            token=admin["accessToken"],
        )

        assert data_of(body, "setUserRole") == {"id": user["user"]["id"], "role": "ADMIN"}
        dashboard = await gql(client, ADMIN_DASHBOARD, token=user["accessToken"])
        assert data_of(dashboard, "adminDashboard")["usersByRole"] == [
            {"role": "USER", "count": 0},
            {"role": "ADMIN", "count": 2},
        ]
        assert "ROLE_CHANGED" in event_kinds(database, user["user"]["id"])

    async def test_demotion_takes_admin_access_from_existing_tokens(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        other = await register_admin(client, database)

        body = await gql(
            client,
            SET_ROLE,
            {"userId": other["user"]["id"], "role": "USER"},
            token=admin["accessToken"],
        )

        assert data_of(body, "setUserRole")["role"] == "USER"
        refused = await gql(client, ADMIN_DASHBOARD, token=other["accessToken"])
        assert_error(refused, "FORBIDDEN")

    async def test_the_last_active_admin_cannot_demote_themself(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        inactive = await register_admin(client, database)
        database.update_user(inactive["user"]["id"], is_active=False)

        body = await gql(
            client,
            SET_ROLE,
            {"userId": admin["user"]["id"], "role": "USER"},
            token=admin["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", reason="LAST_ADMIN")
        assert database.user_row(admin["user"]["username"])["role"] == "ADMIN"
        assert "ROLE_CHANGED" not in event_kinds(database, admin["user"]["id"])

    async def test_an_admin_may_step_down_while_another_remains(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        await register_admin(client, database)

        body = await gql(
            client,
            SET_ROLE,
            {"userId": admin["user"]["id"], "role": "USER"},
            token=admin["accessToken"],
        )

        assert data_of(body, "setUserRole")["role"] == "USER"

    async def test_setting_the_same_role_records_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        user = await register(client)

        body = await gql(
            client,
            SET_ROLE,
            {"userId": user["user"]["id"], "role": "USER"},
            token=admin["accessToken"],
        )

        assert data_of(body, "setUserRole")["role"] == "USER"
        assert "ROLE_CHANGED" not in event_kinds(database, user["user"]["id"])

    @pytest.mark.parametrize("user_id", ["999999", "abc", "-1", "1" * 40, "", "١"])
    async def test_an_unknown_user_id_is_not_found(
        self, client: httpx.AsyncClient, database: SqlDatabase, user_id: str
    ) -> None:
        admin = await register_admin(client, database)

        role = await gql(
            client, SET_ROLE, {"userId": user_id, "role": "ADMIN"}, token=admin["accessToken"]
        )
        active = await gql(
            client, SET_ACTIVE, {"userId": user_id, "active": False}, token=admin["accessToken"]
        )

        assert_error(role, "BAD_USER_INPUT", field="userId", reason="NOT_FOUND")
        assert_error(active, "BAD_USER_INPUT", field="userId", reason="NOT_FOUND")

    async def test_a_plain_user_cannot_change_roles(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        user = await register(client)

        body = await gql(
            client,
            SET_ROLE,
            {"userId": user["user"]["id"], "role": "ADMIN"},
            token=user["accessToken"],
        )

        assert_error(body, "FORBIDDEN")
        assert database.user_row(user["user"]["username"])["role"] == "USER"

    async def test_an_anonymous_caller_cannot_change_roles(self, client: httpx.AsyncClient) -> None:
        body = await gql(client, SET_ROLE, {"userId": "1", "role": "ADMIN"})

        assert_error(body, "UNAUTHENTICATED")


class TestSetUserActive:
    async def test_deactivation_kills_existing_tokens_on_their_next_request(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        first = await register(client, "Leaving")
        second = await login(client, "Leaving")

        body = await gql(
            client,
            SET_ACTIVE,
            {"userId": first["user"]["id"], "active": False},
            token=admin["accessToken"],
        )

        assert data_of(body, "setUserActive") == {"id": first["user"]["id"], "isActive": False}
        for payload in (first, second):
            me = await gql(client, ME, token=payload["accessToken"])
            assert_error(me, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
            assert_error(
                await gql(client, REFRESH, {"t": payload["refreshToken"]}), "UNAUTHENTICATED"
            )
        sessions = [
            row for row in database.rows("sessions") if row["user_id"] == int(first["user"]["id"])
        ]
        assert len(sessions) == 2 and all(row["revoked_at"] is not None for row in sessions)
        refused = await gql(
            client,
            "mutation L($i: LoginInput!) { login(input: $i) { accessToken } }",
            {"i": {"username": "Leaving", "password": "Quokka-Harbour-Lantern-42"}},
        )
        assert_error(refused, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert "ACCOUNT_DEACTIVATED" in event_kinds(database, first["user"]["id"])

    async def test_reactivation_lets_the_user_sign_in_again(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        user = await register(client, "Returning")
        for active in (False, True):
            await gql(
                client,
                SET_ACTIVE,
                {"userId": user["user"]["id"], "active": active},
                token=admin["accessToken"],
            )

        await login(client, "Returning")

        kinds = event_kinds(database, user["user"]["id"])
        assert kinds[-3:] == ["ACCOUNT_DEACTIVATED", "ACCOUNT_ACTIVATED", "LOGIN_SUCCEEDED"]

    async def test_deactivation_deletes_mailed_links_so_reactivation_revives_none(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_mail_app(make_settings(database.url), caplog) as app:
            admin = await register_admin(app.client, database)
            leaving = await register(app.client, "Leaving")
            address = leaving["user"]["email"]
            await gql(app.client, REQUEST_RESET, {"email": address})
            reset_link = await app.mailbox.token(address, "Reset your password")
            await gql(
                app.client,
                UPDATE_EMAIL,
                {"email": "later@example.com", "password": STRONG_PASSWORD},
                token=leaving["accessToken"],
            )
            verify_link = await app.mailbox.token(
                "later@example.com", "Confirm your e-mail address"
            )

            for active in (False, True):
                await gql(
                    app.client,
                    SET_ACTIVE,
                    {"userId": leaving["user"]["id"], "active": active},
                    token=admin["accessToken"],
                )

            reset = await gql(
                app.client, RESET, {"input": {"token": reset_link, "newPassword": "Hijack-It-2026"}}
            )
            verified = await gql(app.client, VERIFY, {"token": verify_link})

        assert_error(reset, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert_error(verified, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert database.count("account_tokens") == 0
        row = database.user_row("Leaving")
        assert (row["email"], row["pending_email"]) == (address, None)

    async def test_the_last_active_admin_cannot_deactivate_themself(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(
            client,
            SET_ACTIVE,
            {"userId": admin["user"]["id"], "active": False},
            token=admin["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", reason="LAST_ADMIN")
        assert data_of(await gql(client, ME, token=admin["accessToken"]), "me")["isActive"]

    async def test_a_plain_user_cannot_deactivate_anyone(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        victim = await register(client)
        user = await register(client)

        body = await gql(
            client,
            SET_ACTIVE,
            {"userId": victim["user"]["id"], "active": False},
            token=user["accessToken"],
        )

        assert_error(body, "FORBIDDEN")
        assert database.user_row(victim["user"]["username"])["is_active"]


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", count)


class TestAdminDashboard:
    async def test_counts_come_from_the_database_with_a_fixed_number_of_queries(
        self, database: SqlDatabase, settings: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_mail_app(settings, caplog) as app:
            admin = await register_admin(app.client, database)
            await register(app.client)
            with counting_statements(app.services.engine) as few:
                small = data_of(
                    await gql(app.client, ADMIN_DASHBOARD, token=admin["accessToken"]),
                    "adminDashboard",
                )
            for _ in range(8):
                await register(app.client)
            left = await register(app.client)
            await gql(
                app.client,
                SET_ACTIVE,
                {"userId": left["user"]["id"], "active": False},
                token=admin["accessToken"],
            )
            with counting_statements(app.services.engine) as many:
                large = data_of(
                    await gql(app.client, ADMIN_DASHBOARD, token=admin["accessToken"]),
                    "adminDashboard",
                )

        assert (small["totalUsers"], small["activeUsers"]) == (2, 2)
        assert (large["totalUsers"], large["activeUsers"]) == (11, 10)
        assert large["usersByRole"] == [
            {"role": "USER", "count": 10},
            {"role": "ADMIN", "count": 1},
        ]
        assert large["signupsLast24h"] == 11
        assert len(large["recentSignups"]) == 10
        assert large["recentSignups"][0]["username"] == left["user"]["username"]
        assert len(many) == len(few) <= 8, many
