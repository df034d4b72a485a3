"""refreshToken: rotation, reuse detection and bad input. Concurrent refreshes, parallel
reuse, lastUsedAt and dead sessions are in tests/db/test_refresh.py."""

from __future__ import annotations

import httpx
import pytest

from tests.support.helpers import (
    LEAK_MARKERS,
    ME,
    REFRESH,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    login,
    post_graphql,
    refresh,
    register,
    session_id_of,
)
from tests.support.sessions import assert_revoked


class TestRotation:
    async def test_refresh_returns_a_new_working_pair_for_the_same_session(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client, "rota")

        rotated = data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        assert rotated["refreshToken"] != registered["refreshToken"]
        assert rotated["accessToken"] != registered["accessToken"]
        assert rotated["tokenType"] == "Bearer"
        assert rotated["user"]["id"] == registered["user"]["id"]
        assert rotated["user"]["email"] == registered["user"]["email"]
        assert session_id_of(rotated) == session_id_of(registered)
        me = data_of(await gql(client, ME, token=rotated["accessToken"]), "me")
        assert me["username"] == "rota"
        assert data_of(await refresh(client, rotated["refreshToken"]), "refreshToken")

    async def test_the_old_refresh_token_stops_working(self, client: httpx.AsyncClient) -> None:
        registered = await register(client)
        data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        body = await refresh(client, registered["refreshToken"])

        assert_error(body, "UNAUTHENTICATED")
        assert body["data"] is None

    async def test_refresh_records_a_token_refreshed_event(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)

        data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        assert event_kinds(database, registered["user"]["id"]) == ["REGISTERED", "TOKEN_REFRESHED"]


class TestReuseDetection:
    async def test_a_rotated_token_presented_again_is_token_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)
        data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        assert_revoked(await refresh(client, registered["refreshToken"]))

    async def test_reuse_kills_the_newest_refresh_and_access_tokens_of_the_session(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)
        newest = data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        await refresh(client, registered["refreshToken"])  # the thief replays the old one

        assert_revoked(await refresh(client, newest["refreshToken"]))
        assert_revoked(await gql(client, ME, token=newest["accessToken"]))

    async def test_reuse_of_a_token_two_rotations_old_revokes_the_session(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await register(client)
        second = data_of(await refresh(client, first["refreshToken"]), "refreshToken")
        third = data_of(await refresh(client, second["refreshToken"]), "refreshToken")

        assert_revoked(await refresh(client, first["refreshToken"]))
        assert_revoked(await refresh(client, third["refreshToken"]))

    async def test_reuse_records_a_refresh_token_reused_event(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)
        data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        await refresh(client, registered["refreshToken"])

        kinds = event_kinds(database, registered["user"]["id"])
        assert kinds == ["REGISTERED", "TOKEN_REFRESHED", "REFRESH_TOKEN_REUSED"]

    async def test_reuse_leaves_the_users_other_sessions_alive(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client, "twosessions")
        other = await login(client, "twosessions")
        data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        await refresh(client, registered["refreshToken"])

        assert data_of(await gql(client, ME, token=other["accessToken"]), "me")
        assert data_of(await refresh(client, other["refreshToken"]), "refreshToken")


# Ours are 43 url-safe characters; none of these can be one.
BAD_REFRESH_TOKENS = {
    "empty": "",
    "garbage": "garbage",
    "10000-chars": "r" * 10_000,
    "nul-bytes": "\x00" * 43,
    "sql": "' OR '1'='1' -- ",
    "unicode": "\u202e\U0001f511" * 20,
    "whitespace": " " * 43,
}


class TestBadRefreshTokens:
    @pytest.mark.parametrize("token", BAD_REFRESH_TOKENS.values(), ids=BAD_REFRESH_TOKENS.keys())
    async def test_a_bad_refresh_token_is_unauthenticated_and_leaks_nothing(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        await register(client)  # a session exists, so there is something to (not) find

        response = await post_graphql(client, REFRESH, {"token": token})

        assert response.status_code == 200
        assert_error(response.json(), "UNAUTHENTICATED", reason="TOKEN_INVALID")
        assert not any(marker in response.text for marker in LEAK_MARKERS), response.text

    async def test_an_access_token_is_not_accepted_as_a_refresh_token(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)

        body = await refresh(client, registered["accessToken"])

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")

    async def test_a_refresh_token_is_not_accepted_as_a_bearer_token(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)

        body = await gql(client, ME, token=registered["refreshToken"])

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")
        assert body["data"] is None
