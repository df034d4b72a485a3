"""Sessions on every backend: the prune command (expired sessions go, live and
revoked-unexpired stay), active sessions without the expired and revoked ones, lastUsedAt
written back, recent events newest first and limited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.cli import call_cli
from tests.support.helpers import (
    LOGIN,
    REGISTER,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    refresh,
    register,
    register_input,
    running_app,
    session_id_of,
)
from tests.support.sessions import SESSIONS, assert_alive, logout

RECENT_EVENTS = "query E($limit: Int!) { userDashboard { recentEvents(limit: $limit) { kind } } }"


class TestPruneCommand:
    async def test_prune_deletes_expired_sessions_and_keeps_live_ones(
        self, database: SqlDatabase, tmp_path: Path, four_sessions: list[dict[str, Any]]
    ) -> None:
        expired, revoked_and_expired, revoked, live = map(session_id_of, four_sessions)
        past = datetime.now(UTC) - timedelta(days=1)
        database.update_session(expired, expires_at=past)
        database.update_session(revoked_and_expired, expires_at=past, revoked_at=past)
        database.update_session(revoked, revoked_at=past)

        # cwd: no stray .env is read
        result = call_cli("prune", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr
        assert "deleted 2 " in result.stdout
        # Revoked but unexpired stays, so a late replay still meets a revoked session.
        assert {row["id"] for row in database.rows("sessions")} == {revoked, live}


@pytest.fixture
async def four_sessions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Four sessions of one user, opened through the app."""
    first = await register(client, "prunable")
    return [first, *[await login(client, "prunable") for _ in range(3)]]


class TestLastUsedAt:
    async def test_a_request_on_a_stale_session_updates_last_used_at(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)
        long_ago = datetime.now(UTC) - timedelta(days=2)
        database.update_session(session_id_of(registered), last_used_at=long_ago)

        await assert_alive(client, registered)

        (row,) = database.rows("sessions")
        assert row["last_used_at"] > long_ago + timedelta(days=1)

    async def test_a_request_on_a_recently_used_session_writes_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)
        # Ahead of the clock, so "used within the last minute" holds however slow the test runs.
        marker = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
        database.update_session(session_id_of(registered), last_used_at=marker)

        await assert_alive(client, registered)

        (row,) = database.rows("sessions")
        assert row["last_used_at"] == marker


class TestRecentEvents:
    async def test_events_are_newest_first_with_address_and_agent(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "history")
        await gql(client, LOGIN, {"input": {"username": "history", "password": "wrong-password"}})
        signed_in = await login(client, "history")
        rotated = data_of(await refresh(client, signed_in["refreshToken"]), "refreshToken")

        body = await gql(
            client,
            "{ userDashboard { recentEvents { kind at ipAddress userAgent } } }",
            token=rotated["accessToken"],
        )

        events = data_of(body, "userDashboard")["recentEvents"]
        assert [event["kind"] for event in events] == [
            "TOKEN_REFRESHED",
            "LOGIN_SUCCEEDED",
            "LOGIN_FAILED",
            "REGISTERED",
        ]
        assert [event["at"] for event in events] == sorted(
            (event["at"] for event in events), reverse=True
        )
        assert {event["ipAddress"] for event in events} == {"127.0.0.1"}
        assert all(event["userAgent"].startswith("python-httpx/") for event in events)

    async def test_the_limit_keeps_the_newest(self, client: httpx.AsyncClient) -> None:
        registered = await register(client)
        rotated = data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        body = await gql(client, RECENT_EVENTS, {"limit": 1}, token=rotated["accessToken"])

        assert data_of(body, "userDashboard")["recentEvents"] == [{"kind": "TOKEN_REFRESHED"}]

    async def test_events_of_other_users_are_not_shown(self, client: httpx.AsyncClient) -> None:
        mine = await register(client)
        await register(client)

        body = await gql(client, RECENT_EVENTS, {"limit": 100}, token=mine["accessToken"])

        assert data_of(body, "userDashboard")["recentEvents"] == [{"kind": "REGISTERED"}]

    @pytest.mark.parametrize("limit", [0, 101, -1])
    async def test_a_limit_out_of_range_is_bad_user_input(
        self, client: httpx.AsyncClient, limit: int
    ) -> None:
        registered = await register(client)

        body = await gql(client, RECENT_EVENTS, {"limit": limit}, token=registered["accessToken"])

        assert_error(body, "BAD_USER_INPUT", field="limit")


class TestActiveSessions:
    async def test_exactly_one_session_is_current_and_each_shows_what_was_sent(
        self, settings: Settings
    ) -> None:
        sent: dict[str, tuple[str, str]] = {}
        credentials = register_input("threeplaces")
        async with (
            running_app(settings, ("127.0.0.1", 123)) as laptop,
            running_app(settings, ("10.0.0.5", 1234)) as phone,
        ):
            body = await gql(
                laptop, REGISTER, {"input": credentials}, headers={"User-Agent": "Agent/1"}
            )
            sent[session_id_of(data_of(body, "register"))] = ("Agent/1", "127.0.0.1")
            on_phone = await gql(
                phone,
                LOGIN,
                {"input": {"username": "threeplaces", "password": credentials["password"]}},
                headers={"User-Agent": "Agent/2 (phone)"},
            )
            current = data_of(on_phone, "login")
            sent[session_id_of(current)] = ("Agent/2 (phone)", "10.0.0.5")
            body = await gql(
                laptop,
                LOGIN,
                {"input": {"username": "threeplaces", "password": credentials["password"]}},
                headers={"User-Agent": "Agent/3"},
            )
            sent[session_id_of(data_of(body, "login"))] = ("Agent/3", "127.0.0.1")

            dashboard = await gql(laptop, SESSIONS, token=current["accessToken"])

        sessions = data_of(dashboard, "userDashboard")["activeSessions"]
        assert {s["id"] for s in sessions} == set(sent)
        assert [s["id"] for s in sessions if s["current"]] == [session_id_of(current)]
        for session in sessions:
            assert (session["userAgent"], session["ipAddress"]) == sent[session["id"]]

    async def test_revoked_and_expired_sessions_are_not_listed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        expired = await register(client, "pruned")
        logged_out = await login(client, "pruned")
        live = await login(client, "pruned")
        database.update_session(
            session_id_of(expired), expires_at=datetime.now(UTC) - timedelta(minutes=1)
        )
        await logout(client, logged_out["refreshToken"])

        body = await gql(client, SESSIONS, token=live["accessToken"])

        sessions = data_of(body, "userDashboard")["activeSessions"]
        assert [s["id"] for s in sessions] == [session_id_of(live)]
