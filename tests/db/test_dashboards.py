"""The dashboards' figures, and one whole journey: register, login, me, both dashboards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.support.helpers import (
    ADMIN_DASHBOARD,
    LOGIN,
    ME,
    USER_DASHBOARD,
    SqlDatabase,
    assert_error,
    claims_of,
    data_of,
    gql,
    login,
    register,
    register_admin,
)


class TestAdminDashboard:
    async def test_admin_dashboard_counts_what_is_in_the_database(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        old = await register(client, "old")
        idle = await register(client, "idle")
        await register(client, "fresh")
        admin = await register_admin(client, database)
        database.update_user(old["user"]["id"], created_at=datetime.now(UTC) - timedelta(days=2))
        database.update_user(idle["user"]["id"], is_active=False)
        await gql(client, LOGIN, {"input": {"username": "fresh", "password": "wrong-password"}})
        await gql(client, LOGIN, {"input": {"username": "ghost", "password": "wrong-password"}})

        body = await gql(client, ADMIN_DASHBOARD, token=admin["accessToken"])

        dashboard = data_of(body, "adminDashboard")
        assert dashboard["totalUsers"] == 4
        assert dashboard["activeUsers"] == 3
        assert {row["role"]: row["count"] for row in dashboard["usersByRole"]} == {
            "USER": 3,
            "ADMIN": 1,
        }
        assert dashboard["signupsLast24h"] == 3
        assert dashboard["failedLoginsLast24h"] == 2

    async def test_users_by_role_lists_every_role_even_when_empty(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, ADMIN_DASHBOARD, token=admin["accessToken"])

        by_role = data_of(body, "adminDashboard")["usersByRole"]
        assert sorted(by_role, key=lambda row: row["role"]) == [
            {"role": "ADMIN", "count": 1},
            {"role": "USER", "count": 0},
        ]

    async def test_recent_signups_are_newest_first_and_limited(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        for name in ("first", "second", "third"):
            await register(client, name)
        admin = await register_admin(client, database)
        names = [admin["user"]["username"], "third", "second", "first"]

        body = await gql(
            client,
            "{ adminDashboard { all: recentSignups { username } two: recentSignups(limit: 2) "
            "{ username } } }",
            token=admin["accessToken"],
        )

        dashboard = data_of(body, "adminDashboard")
        assert [user["username"] for user in dashboard["all"]] == names
        assert [user["username"] for user in dashboard["two"]] == names[:2]

    async def test_recent_signups_limit_out_of_range_is_bad_user_input(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        for limit in (0, 101):
            body = await gql(
                client,
                f"{{ adminDashboard {{ recentSignups(limit: {limit}) {{ id }} }} }}",
                token=admin["accessToken"],
            )
            assert_error(body, "BAD_USER_INPUT", field="limit")


class TestUserDashboard:
    async def test_user_dashboard_shows_sessions_with_the_current_one_marked(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "sessions")
        current = await login(client, "sessions")

        body = await gql(client, USER_DASHBOARD, token=current["accessToken"])

        dashboard = data_of(body, "userDashboard")
        assert dashboard["user"]["username"] == "sessions"
        sessions = dashboard["activeSessions"]
        assert len(sessions) == 2
        assert [session["current"] for session in sessions].count(True) == 1
        assert sessions[0]["current"] is True  # newest first
        assert all(session["ipAddress"] == "127.0.0.1" for session in sessions)
        assert all(session["userAgent"].startswith("python-httpx/") for session in sessions)

    async def test_user_dashboard_hides_revoked_sessions(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        first = await register(client, "revoker")
        second = await login(client, "revoker")
        old_session = claims_of(first["accessToken"])["sid"]
        database.update_session(old_session, revoked_at=datetime.now(UTC))

        body = await gql(client, USER_DASHBOARD, token=second["accessToken"])

        sessions = data_of(body, "userDashboard")["activeSessions"]
        assert [session["id"] for session in sessions] == [claims_of(second["accessToken"])["sid"]]

    async def test_recent_events_are_the_callers_newest_first(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "eventful")
        await register(client, "bystander")
        await gql(client, LOGIN, {"input": {"username": "eventful", "password": "wrong-pass"}})
        signed_in = await login(client, "eventful")

        body = await gql(client, USER_DASHBOARD, token=signed_in["accessToken"])

        kinds = [event["kind"] for event in data_of(body, "userDashboard")["recentEvents"]]
        assert kinds == ["LOGIN_SUCCEEDED", "LOGIN_FAILED", "REGISTERED"]


class TestFullFlow:
    async def test_register_login_me_and_both_dashboards(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client, "Journey", "journey@example.com")
        signed_in = await login(client, "journey")
        token = signed_in["accessToken"]

        me = data_of(await gql(client, ME, token=token), "me")
        assert me["id"] == registered["user"]["id"]
        assert me["email"] == "journey@example.com"
        assert me["role"] == "USER"

        user_dashboard = data_of(await gql(client, USER_DASHBOARD, token=token), "userDashboard")
        assert user_dashboard["user"]["id"] == me["id"]
        assert len(user_dashboard["activeSessions"]) == 2

        assert_error(await gql(client, ADMIN_DASHBOARD, token=token), "FORBIDDEN")

        database.update_user(me["id"], role="ADMIN")
        admin_token = (await login(client, "journey@example.com"))["accessToken"]
        admin_dashboard = data_of(
            await gql(client, ADMIN_DASHBOARD, token=admin_token), "adminDashboard"
        )
        assert admin_dashboard["totalUsers"] == 1
        assert admin_dashboard["recentSignups"] == [{"id": me["id"], "username": "Journey"}]
