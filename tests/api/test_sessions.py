"""Sessions: logout, logoutAll, changePassword, instant revocation and client address. The
prune command, the list of active sessions, lastUsedAt and recent events newest first
(times the database stores and compares) are in tests/db/test_sessions.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    LOGOUT_ALL,
    ME,
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
    running_app,
    session_id_of,
)
from tests.support.sessions import SESSIONS, assert_alive, logout

NEW_PASSWORD = "Marmot-Glacier-Velvet-77"


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
