"""Sessions: logout, logoutAll, changePassword, instant revocation, the dashboard and client
address. The prune command is in tests/db/test_sessions.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gql_auth.config import Settings
from tests.support.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    LOGOUT,
    LOGOUT_ALL,
    ME,
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    login,
    make_settings,
    refresh,
    register,
    register_input,
    running_app,
    session_id_of,
)

NEW_PASSWORD = "Marmot-Glacier-Velvet-77"
SESSIONS = "{ userDashboard { activeSessions { id current userAgent ipAddress } } }"


async def logout(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    return await gql(client, LOGOUT, {"token": refresh_token})


async def change_password(
    client: httpx.AsyncClient, token: str, current: str, new: str = NEW_PASSWORD
) -> dict[str, Any]:
    return await gql(
        client,
        CHANGE_PASSWORD,
        {"input": {"currentPassword": current, "newPassword": new}},
        token=token,
    )


def assert_revoked(body: dict[str, Any]) -> None:
    assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")


async def assert_alive(client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    """The session's access token is accepted (its refresh token is left unused)."""
    assert data_of(await gql(client, ME, token=payload["accessToken"]), "me")


class TestLogout:
    async def test_logout_revokes_the_session_of_the_refresh_token(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)

        assert data_of(await logout(client, registered["refreshToken"]), "logout") is True

        assert_revoked(await gql(client, ME, token=registered["accessToken"]))
        assert_revoked(await refresh(client, registered["refreshToken"]))

    async def test_logout_of_one_session_leaves_another_alive(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await register(client, "twodevices")
        second = await login(client, "twodevices")

        await logout(client, first["refreshToken"])

        await assert_alive(client, second)
        assert data_of(await refresh(client, second["refreshToken"]), "refreshToken")

    async def test_logout_twice_is_true_both_times(self, client: httpx.AsyncClient) -> None:
        registered = await register(client)

        first = await logout(client, registered["refreshToken"])
        second = await logout(client, registered["refreshToken"])

        assert data_of(first, "logout") is True
        assert data_of(second, "logout") is True

    @pytest.mark.parametrize(
        "token",
        ["unknown-but-plausible-token-0123456789abcdefghijk", "", "x" * 10_000, "\x00garbage"],
        ids=["unknown", "empty", "10000-chars", "garbage"],
    )
    async def test_logout_with_an_unknown_token_is_true_and_revokes_nothing(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        registered = await register(client)

        assert data_of(await logout(client, token), "logout") is True

        await assert_alive(client, registered)

    async def test_logout_records_a_logged_out_event(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)

        await logout(client, registered["refreshToken"])
        await logout(client, registered["refreshToken"])

        assert event_kinds(database, registered["user"]["id"]) == ["REGISTERED", "LOGGED_OUT"]


class TestLogoutAll:
    async def test_logout_all_returns_the_count_and_kills_every_session_including_this_one(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await register(client, "everywhere")
        second = await login(client, "everywhere")
        third = await login(client, "everywhere")

        body = await gql(client, LOGOUT_ALL, token=second["accessToken"])

        assert data_of(body, "logoutAll") == 3
        for payload in (first, second, third):
            assert_revoked(await gql(client, ME, token=payload["accessToken"]))
            assert_revoked(await refresh(client, payload["refreshToken"]))

    async def test_logout_all_does_not_count_sessions_already_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await register(client, "partly")
        second = await login(client, "partly")
        await logout(client, first["refreshToken"])

        assert data_of(await gql(client, LOGOUT_ALL, token=second["accessToken"]), "logoutAll") == 1

    async def test_logout_all_leaves_other_users_signed_in(self, client: httpx.AsyncClient) -> None:
        mine = await register(client)
        theirs = await register(client)

        await gql(client, LOGOUT_ALL, token=mine["accessToken"])

        await assert_alive(client, theirs)

    async def test_logout_all_needs_a_signed_in_caller(self, client: httpx.AsyncClient) -> None:
        body = await gql(client, LOGOUT_ALL)

        assert_error(body, "UNAUTHENTICATED", path=["logoutAll"])

    async def test_logout_all_with_a_revoked_token_is_token_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)
        await gql(client, LOGOUT_ALL, token=registered["accessToken"])

        assert_revoked(await gql(client, LOGOUT_ALL, token=registered["accessToken"]))


class TestChangePassword:
    async def test_a_wrong_current_password_is_invalid_credentials_and_a_failed_login(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client, "wrongcurrent")

        body = await change_password(client, registered["accessToken"], "not-my-password")

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert body["data"] is None
        assert event_kinds(database, registered["user"]["id"]) == ["REGISTERED", "LOGIN_FAILED"]
        await assert_alive(client, registered)
        assert await login(client, "wrongcurrent", STRONG_PASSWORD)

    @pytest.mark.parametrize(
        ("new_password", "reason"),
        [("short", "TOO_SHORT"), ("password123", "TOO_COMMON")],
        ids=["too-short", "too-common"],
    )
    async def test_a_weak_new_password_is_bad_user_input_and_changes_nothing(
        self, client: httpx.AsyncClient, new_password: str, reason: str
    ) -> None:
        registered = await register(client, "weaknew")
        other = await login(client, "weaknew")

        body = await change_password(
            client, registered["accessToken"], STRONG_PASSWORD, new_password
        )

        assert_error(body, "BAD_USER_INPUT", field="newPassword", reason=reason)
        await assert_alive(client, other)
        assert await login(client, "weaknew", STRONG_PASSWORD)

    async def test_success_revokes_every_other_session_and_returns_working_tokens(
        self, client: httpx.AsyncClient
    ) -> None:
        current = await register(client, "changer")
        others = [await login(client, "changer"), await login(client, "changer")]

        body = await change_password(client, current["accessToken"], STRONG_PASSWORD)

        fresh = data_of(body, "changePassword")
        assert fresh["user"]["username"] == "changer"
        await assert_alive(client, fresh)
        for other in others:
            assert_revoked(await gql(client, ME, token=other["accessToken"]))
            assert_revoked(await refresh(client, other["refreshToken"]))
        sessions = data_of(
            await gql(client, SESSIONS, token=fresh["accessToken"]), "userDashboard"
        )["activeSessions"]
        assert [(s["id"], s["current"]) for s in sessions] == [(session_id_of(fresh), True)]
        assert data_of(await refresh(client, fresh["refreshToken"]), "refreshToken")

    async def test_after_a_change_only_the_new_password_signs_in(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client, "swapper")
        data_of(
            await change_password(client, registered["accessToken"], STRONG_PASSWORD),
            "changePassword",
        )

        old = await gql(
            client, LOGIN, {"input": {"username": "swapper", "password": STRONG_PASSWORD}}
        )

        assert_error(old, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert await login(client, "swapper", NEW_PASSWORD)

    async def test_success_records_a_password_changed_event(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)

        data_of(
            await change_password(client, registered["accessToken"], STRONG_PASSWORD),
            "changePassword",
        )

        assert event_kinds(database, registered["user"]["id"]) == [
            "REGISTERED",
            "PASSWORD_CHANGED",
        ]

    async def test_change_password_needs_a_signed_in_caller(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(
            client,
            CHANGE_PASSWORD,
            {"input": {"currentPassword": STRONG_PASSWORD, "newPassword": NEW_PASSWORD}},
        )

        assert_error(body, "UNAUTHENTICATED", path=["changePassword"])


class TestRevocationIsImmediate:
    async def test_an_unexpired_access_token_of_a_logged_out_session_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)
        await assert_alive(client, registered)

        await logout(client, registered["refreshToken"])

        assert_revoked(await gql(client, ME, token=registered["accessToken"]))

    async def test_a_deactivated_users_tokens_are_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)
        await assert_alive(client, registered)

        database.update_user(registered["user"]["id"], is_active=False)

        assert_revoked(await gql(client, ME, token=registered["accessToken"]))
        assert_revoked(await refresh(client, registered["refreshToken"]))


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


RECENT_EVENTS = "query E($limit: Int!) { userDashboard { recentEvents(limit: $limit) { kind } } }"


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


class TestClientAddress:
    FORWARDED = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7, 10.1.2.3"}

    async def session_address(
        self, settings: Settings, peer: tuple[str, int], headers: dict[str, str]
    ) -> str:
        async with running_app(settings, peer) as client:
            body = await gql(
                client,
                "mutation R($input: RegisterInput!) { register(input: $input) { accessToken } }",
                {
                    "input": {
                        "username": "addr",
                        "email": "addr@example.com",
                        "password": STRONG_PASSWORD,
                    }
                },
                headers=headers,
            )
            token = data_of(body, "register")["accessToken"]
            sessions = await gql(client, SESSIONS, token=token)
        (session,) = data_of(sessions, "userDashboard")["activeSessions"]
        return str(session["ipAddress"])

    async def test_without_trusted_proxies_x_forwarded_for_is_ignored(
        self, settings: Settings
    ) -> None:
        address = await self.session_address(settings, ("10.0.0.5", 1234), self.FORWARDED)

        assert address == "10.0.0.5"

    async def test_a_trusted_proxy_is_believed_up_to_the_first_untrusted_hop(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, trusted_proxies="10.0.0.0/8")

        address = await self.session_address(settings, ("10.0.0.5", 1234), self.FORWARDED)

        assert address == "203.0.113.7"

    async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, trusted_proxies="10.0.0.0/8")

        address = await self.session_address(settings, ("192.0.2.44", 1234), self.FORWARDED)

        assert address == "192.0.2.44"

    async def test_a_malformed_untrusted_hop_falls_back_to_the_peer(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, trusted_proxies="10.0.0.0/8")

        address = await self.session_address(
            settings, ("10.0.0.5", 1234), {"X-Forwarded-For": "<script>, 10.1.1.1"}
        )

        assert address == "10.0.0.5"
