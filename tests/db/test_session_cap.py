"""MAX_SESSIONS_PER_USER: a sign-in beyond the cap revokes the oldest live session, also when
the sign-ins arrive in parallel through two app instances (issue 11, item 9)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from gql_auth.core.models import utcnow
from tests.support.helpers import (
    LOGIN,
    LOGOUT,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    make_settings,
    refresh,
    register,
    running_app,
    session_id_of,
)


def live_session_ids(database: SqlDatabase) -> set[str]:
    now = utcnow()
    return {
        row["id"]
        for row in database.rows("sessions")
        if row["revoked_at"] is None and row["expires_at"].replace(tzinfo=UTC) > now
    }


def assert_revoked(body: dict[str, Any]) -> None:
    assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")


class TestSessionCap:
    async def test_a_sign_in_beyond_the_cap_revokes_the_oldest_session(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(make_settings(database.url, max_sessions_per_user=3)) as client:
            oldest = await register(client, "capped")
            kept = [await login(client, "capped") for _ in range(2)]

            newest = await login(client, "capped")

            assert_revoked(await gql(client, ME, token=oldest["accessToken"]))
            assert_revoked(await refresh(client, oldest["refreshToken"]))
            for payload in [*kept, newest]:
                assert data_of(await gql(client, ME, token=payload["accessToken"]), "me")
        assert live_session_ids(database) == {session_id_of(p) for p in [*kept, newest]}

    async def test_the_oldest_goes_by_creation_not_by_last_use(self, database: SqlDatabase) -> None:
        async with running_app(make_settings(database.url, max_sessions_per_user=2)) as client:
            first = await register(client, "byage")
            second = await login(client, "byage")
            # The first session is the most recently used one; it is still the oldest.
            rotated = data_of(await refresh(client, first["refreshToken"]), "refreshToken")

            third = await login(client, "byage")

            assert_revoked(await refresh(client, rotated["refreshToken"]))
        assert live_session_ids(database) == {session_id_of(second), session_id_of(third)}

    async def test_revoked_and_expired_sessions_do_not_count(self, database: SqlDatabase) -> None:
        async with running_app(make_settings(database.url, max_sessions_per_user=2)) as client:
            logged_out = await register(client, "dead")
            await gql(client, LOGOUT, {"token": logged_out["refreshToken"]})
            expired = await login(client, "dead")
            database.update_session(
                session_id_of(expired), expires_at=datetime.now(UTC) - timedelta(minutes=1)
            )
            alive = await login(client, "dead")

            newest = await login(client, "dead")

            assert data_of(await gql(client, ME, token=alive["accessToken"]), "me")
        assert live_session_ids(database) == {session_id_of(alive), session_id_of(newest)}

    async def test_other_users_sessions_are_untouched(self, database: SqlDatabase) -> None:
        async with running_app(make_settings(database.url, max_sessions_per_user=1)) as client:
            bystander = await register(client, "bystander")
            await register(client, "busy")

            await login(client, "busy")

            assert data_of(await gql(client, ME, token=bystander["accessToken"]), "me")

    async def test_parallel_sign_ins_through_two_instances_stay_within_the_cap(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, max_sessions_per_user=3)
        variables = {"input": {"username": "crowd", "password": STRONG_PASSWORD}}
        # Two instances and two client addresses, as two servers behind a balancer would see.
        async with (
            running_app(settings, ("192.0.2.1", 1000)) as first,
            running_app(settings, ("192.0.2.2", 1000)) as second,
        ):
            await register(first, "crowd")

            bodies = await asyncio.gather(
                *(gql(first if n % 2 else second, LOGIN, variables) for n in range(8))
            )

        payloads = [data_of(body, "login") for body in bodies]  # every sign-in succeeded
        assert len(live_session_ids(database)) == 3
        assert live_session_ids(database) <= {session_id_of(p) for p in payloads}
        assert len(database.rows("sessions")) == 9


def add_old_sessions(database: SqlDatabase, user_id: str, count: int) -> list[str]:
    """Live sessions opened a day ago, straight into the table (no sign-in limit applies)."""
    opened = utcnow() - timedelta(days=1)
    rows = [
        {
            "id": f"old-{n}-{secrets.token_hex(8)}",
            "user_id": int(user_id),
            "created_at": opened + timedelta(seconds=n),
            "last_used_at": opened,
            "expires_at": opened + timedelta(days=14),
            "refresh_token_hash": secrets.token_hex(32),
        }
        for n in range(count)
    ]
    with database.engine.begin() as connection:
        connection.execute(sa.insert(database.table("sessions")), rows)
    return [str(row["id"]) for row in rows]


class TestDefaultCap:
    async def test_fifty_live_sessions_are_allowed_by_default(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(client, "many")
        old = add_old_sessions(database, registered["user"]["id"], 49)
        assert len(live_session_ids(database)) == 50

        newest = await login(client, "many")

        live = live_session_ids(database)
        assert len(live) == 50
        assert old[0] not in live  # the oldest of all
        assert {*old[1:], session_id_of(registered), session_id_of(newest)} == live
