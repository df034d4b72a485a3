"""The check every authenticated request makes: one read on a reader thread, no transaction.

The session and user are read on a database thread in one go; a request
that writes nothing must not touch the request engine at all (no checkout,
no BEGIN, no COMMIT), while writes still land: lastUsedAt once a minute,
and whatever a resolver changes in the caller's own rows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pymysql
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from gql_auth.config import Settings
from tests.conftest import MARIADB
from tests.helpers import (
    LOGIN,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    client_of,
    data_of,
    gql,
    register,
    session_id_of,
    started_app,
)


def request_engine_events(app: Any) -> list[str]:
    """Records every checkout, BEGIN and COMMIT on the app's request engine."""
    engine = app.state.services.engine.sync_engine
    seen: list[str] = []
    for name in ("checkout", "begin", "commit", "rollback"):
        event.listen(engine, name, lambda *_, name=name: seen.append(name))
    return seen


class TestReadOnlyRequests:
    async def test_me_in_parallel_never_touches_the_request_engine(
        self, settings: Settings
    ) -> None:
        async with started_app(settings) as app, client_of(app) as client:
            payload = await register(client)
            seen = request_engine_events(app)

            bodies = await asyncio.gather(
                *(gql(client, ME, token=payload["accessToken"]) for _ in range(24))
            )

        assert {data_of(body, "me")["username"] for body in bodies} == {payload["user"]["username"]}
        assert seen == []

    async def test_a_request_that_writes_still_commits(self, settings: Settings) -> None:
        async with started_app(settings) as app, client_of(app) as client:
            payload = await register(client)
            seen = request_engine_events(app)

            body = await gql(
                client,
                LOGIN,
                {"input": {"username": payload["user"]["username"], "password": STRONG_PASSWORD}},
            )

        assert data_of(body, "login")["accessToken"]
        assert "commit" in seen


class TestWritesThroughTheViewer:
    async def test_a_stale_last_used_at_is_written_by_the_next_request(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        long_ago = datetime.now(UTC) - timedelta(days=3)
        async with started_app(settings) as app, client_of(app) as client:
            payload = await register(client)
            session_id = session_id_of(payload)
            database.update_session(session_id, last_used_at=long_ago)

            data_of(await gql(client, ME, token=payload["accessToken"]), "me")

        (row,) = [row for row in database.rows("sessions") if row["id"] == session_id]
        assert row["last_used_at"] > long_ago + timedelta(days=2)

    async def test_revocation_from_another_connection_shows_at_the_next_request(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        async with started_app(settings) as app, client_of(app) as client:
            payload = await register(client)
            token = payload["accessToken"]
            data_of(await gql(client, ME, token=token), "me")
            database.update_session(session_id_of(payload), revoked_at=datetime.now(UTC))

            body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")


def kill_connections_to(database: SqlDatabase) -> int:
    """Ends every server connection to this test's database, as a restart or timeout would."""
    name = make_url(database.url).database
    database.engine.dispose()
    killed = 0
    monitor = pymysql.connect(**MARIADB, autocommit=True)
    try:
        with monitor.cursor() as cursor:
            cursor.execute(
                "SELECT ID FROM information_schema.PROCESSLIST"
                " WHERE DB = %s AND ID <> CONNECTION_ID()",
                (name,),
            )
            for (thread_id,) in cursor.fetchall():
                cursor.execute(f"KILL CONNECTION {int(thread_id)}")
                killed += 1
    finally:
        monitor.close()
    return killed


async def test_a_reader_connection_the_server_closed_is_replaced(
    settings: Settings, database: SqlDatabase, backend: Any
) -> None:
    """No ping before each read: a dropped pooled connection is retried on a new one."""
    if backend.name != "mariadb":
        pytest.skip("server-side connections: MariaDB only")
    async with started_app(settings) as app, client_of(app) as client:
        payload = await register(client)
        token = payload["accessToken"]
        await asyncio.gather(*(gql(client, ME, token=token) for _ in range(8)))  # fill the pool

        assert kill_connections_to(database) > 0
        bodies = await asyncio.gather(*(gql(client, ME, token=token) for _ in range(8)))

    assert all(data_of(body, "me")["id"] == payload["user"]["id"] for body in bodies)
