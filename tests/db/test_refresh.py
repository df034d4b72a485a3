"""refreshToken on every backend: concurrent refreshes of one token, parallel reuse,
lastUsedAt written back, and dead (expired, deactivated, logged-out) sessions refused."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gql_auth.settings import Settings
from tests.support.helpers import (
    LOGOUT,
    ME,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    refresh,
    register,
    running_app,
    session_id_of,
)
from tests.support.sessions import assert_revoked


def outcomes(bodies: Sequence[dict[str, Any]]) -> list[str]:
    """ "ok" per successful refresh, else the error's code."""
    return [
        "ok" if not body.get("errors") else body["errors"][0]["extensions"]["code"]
        for body in bodies
    ]


class TestConcurrentRefresh:
    async def test_two_concurrent_refreshes_with_one_token_yield_one_success(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)

        bodies = await asyncio.gather(
            refresh(client, registered["refreshToken"]),
            refresh(client, registered["refreshToken"]),
        )

        assert sorted(outcomes(bodies)) == ["UNAUTHENTICATED", "ok"]

    async def test_concurrent_refreshes_through_two_app_instances_yield_one_success(
        self, settings: Settings
    ) -> None:
        """Separate engines and connections: only the row lock or compare-and-set can decide."""
        async with running_app(settings) as first, running_app(settings) as second:
            registered = await register(first)
            token = registered["refreshToken"]

            bodies = await asyncio.gather(
                refresh(first, token), refresh(second, token), refresh(first, token)
            )

        assert sorted(outcomes(bodies)) == ["UNAUTHENTICATED", "UNAUTHENTICATED", "ok"]


class TestParallelReuse:
    """Item 6 of issue 11: parallel replays once deadlocked MariaDB (INTERNAL_SERVER_ERROR)."""

    ALLOWED = {"ok", "TOKEN_REVOKED"}

    @staticmethod
    def answers(bodies: list[dict[str, Any]]) -> list[str]:
        """ "ok", or every error's reason (or code) joined: a failed commit adds a second one."""
        return [
            "+".join(
                error["extensions"].get("reason") or error["extensions"]["code"]
                for error in body["errors"]
            )
            if body.get("errors")
            else "ok"
            for body in bodies
        ]

    async def test_parallel_reuses_of_a_rotated_token_are_all_token_revoked(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        async with running_app(settings) as first, running_app(settings) as second:
            registered = await register(first)
            data_of(await refresh(first, registered["refreshToken"]), "refreshToken")
            old = registered["refreshToken"]

            bodies = await asyncio.gather(
                *(refresh(first if n % 2 else second, old) for n in range(8))
            )

        assert self.answers(bodies) == ["TOKEN_REVOKED"] * 8
        (row,) = database.rows("sessions")
        assert row["revoked_at"] is not None
        kinds = event_kinds(database, registered["user"]["id"])
        assert kinds.count("REFRESH_TOKEN_REUSED") == 1, kinds

    async def test_parallel_refreshes_of_one_current_token_give_one_success_and_revoke(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        """The losers replay a token the winner just rotated away: that is reuse."""
        async with running_app(settings) as first, running_app(settings) as second:
            registered = await register(first)
            token = registered["refreshToken"]

            bodies = await asyncio.gather(
                *(refresh(first if n % 2 else second, token) for n in range(8))
            )

        answers = self.answers(bodies)
        assert set(answers) <= self.ALLOWED, answers
        assert answers.count("ok") <= 1, answers
        (row,) = database.rows("sessions")
        assert row["revoked_at"] is not None

    async def test_a_mix_of_current_and_replayed_tokens_never_fails_internally(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        async with running_app(settings) as first, running_app(settings) as second:
            registered = await register(first)
            current = data_of(await refresh(first, registered["refreshToken"]), "refreshToken")
            tokens = [registered["refreshToken"], current["refreshToken"]]

            bodies = await asyncio.gather(
                *(refresh(first if n % 2 else second, tokens[n % 2]) for n in range(10))
            )
            after = await refresh(first, current["refreshToken"])

        answers = self.answers(bodies)
        assert set(answers) <= self.ALLOWED, answers
        assert answers.count("ok") <= 1, answers
        assert self.answers([after]) == ["TOKEN_REVOKED"]
        (row,) = database.rows("sessions")
        assert row["revoked_at"] is not None


class TestRotation:
    async def test_refresh_updates_last_used_at(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)
        long_ago = datetime.now(UTC) - timedelta(days=2)
        database.update_session(session_id_of(registered), last_used_at=long_ago)

        data_of(await refresh(client, registered["refreshToken"]), "refreshToken")

        (row,) = database.rows("sessions")
        assert row["last_used_at"] > long_ago + timedelta(days=1)


class TestDeadSessions:
    async def test_an_expired_session_cannot_refresh(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)
        database.update_session(
            session_id_of(registered), expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )

        body = await refresh(client, registered["refreshToken"])

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_EXPIRED")
        assert body["data"] is None

    async def test_a_deactivated_user_cannot_refresh(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client)
        database.update_user(registered["user"]["id"], is_active=False)

        assert_revoked(await refresh(client, registered["refreshToken"]))
        assert_revoked(await gql(client, ME, token=registered["accessToken"]))

    async def test_a_logged_out_session_cannot_refresh(self, client: httpx.AsyncClient) -> None:
        registered = await register(client)
        assert data_of(await gql(client, LOGOUT, {"token": registered["refreshToken"]}), "logout")

        assert_revoked(await refresh(client, registered["refreshToken"]))
