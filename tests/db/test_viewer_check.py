"""The check every authenticated request makes: one read, no transaction.

The session and user are read in one go on the loop (through sqlite3 on SQLite,
else through the async driver's own connections), and on SQLite the loop never
waits on a lock; a request
that writes nothing must not touch the request engine at all (no checkout,
no BEGIN, no COMMIT), while writes still land: lastUsedAt once a minute,
and whatever a resolver changes in the caller's own rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncmy.errors
import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gql_auth.core.database import (
    create_engine,
    create_loop_reader_engine,
    create_reader_engine,
)
from gql_auth.core.models import Role
from gql_auth.security.tokens import AccessClaims
from gql_auth.sessions.driver_read import DriverConnections
from gql_auth.sessions.models import AuthSession
from gql_auth.sessions.viewer_lookup import ViewerLookup
from gql_auth.settings import Settings
from gql_auth.users.models import User
from tests.support.helpers import (
    LOGIN,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    client_of,
    data_of,
    gql,
    register,
    running_app,
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


# The server connections to the current database other than the asking one.
OTHER_CONNECTIONS = {
    "postgresql": "SELECT pid FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    "mariadb": "SELECT ID FROM information_schema.PROCESSLIST"
    " WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
}
END_CONNECTION = {"postgresql": "SELECT pg_terminate_backend({})", "mariadb": "KILL CONNECTION {}"}


def other_connections(database: SqlDatabase, backend_name: str) -> list[int]:
    """The ids of the server connections now open to this test's database, from anyone but
    the test's own engine (whose pool is let go first)."""
    database.engine.dispose()
    with database.engine.connect() as connection:
        return [
            int(id_)
            for id_ in connection.exec_driver_sql(OTHER_CONNECTIONS[backend_name]).scalars()
        ]


def kill_connections_to(database: SqlDatabase, backend_name: str) -> int:
    """Ends every server connection to this test's database, as a restart or timeout would."""
    ids = other_connections(database, backend_name)
    with database.engine.connect() as connection:
        for id_ in ids:
            connection.exec_driver_sql(END_CONNECTION[backend_name].format(id_))
    return len(ids)


def connections_to(database: SqlDatabase, backend_name: str) -> int:
    """Server connections now open to this test's database, from anyone but the test."""
    return len(other_connections(database, backend_name))


async def test_a_reader_connection_the_server_closed_is_replaced(
    settings: Settings, database: SqlDatabase, backend: Any
) -> None:
    """No ping before each read: a dropped pooled connection is retried on a new one."""
    if backend.name == "sqlite":
        pytest.skip("server-side connections: a server database only")
    async with started_app(settings) as app, client_of(app) as client:
        payload = await register(client)
        token = payload["accessToken"]
        await asyncio.gather(*(gql(client, ME, token=token) for _ in range(8)))  # fill the pool

        assert kill_connections_to(database, backend.name) > 0
        bodies = await asyncio.gather(*(gql(client, ME, token=token) for _ in range(8)))

    assert all(data_of(body, "me")["id"] == payload["user"]["id"] for body in bodies)


LOCK_HELD_SECONDS = 3.0


@asynccontextmanager
async def loop_watch() -> AsyncIterator[Callable[[], float]]:
    """Measures the longest time the event loop went without running a ticking task."""
    loop = asyncio.get_running_loop()
    gaps = [0.0]

    async def tick() -> None:
        last = loop.time()
        while True:
            await asyncio.sleep(0.01)
            now = loop.time()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        yield lambda: max(gaps)
    finally:
        ticker.cancel()


def sqlite_path(database: SqlDatabase) -> str:
    path = make_url(database.url).database
    assert path is not None
    return path


class TestTheCheckOnTheLoop:
    """SQLite: the read runs on the event loop, so it must never wait there for anything."""

    @pytest.fixture(autouse=True)
    def _sqlite_only(self, backend: Any) -> None:
        if backend.name != "sqlite":
            pytest.skip("a server database is read through its async driver")

    async def test_a_locked_file_sends_the_check_to_a_thread_and_never_stalls_the_loop(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        async with running_app(settings) as client:
            payload = await register(client)
        # Exclusive locking mode, taken by a write: no other connection may even read.
        holder = sqlite3.connect(sqlite_path(database), isolation_level=None)
        try:
            holder.execute("PRAGMA locking_mode=EXCLUSIVE")
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("UPDATE users SET username = username")
            holder.execute("COMMIT")
            async with running_app(settings) as client, loop_watch() as longest_stall:
                me = asyncio.create_task(gql(client, ME, token=payload["accessToken"]))
                other = await gql(client, "{ __typename }")  # answered while `me` waits
                await asyncio.sleep(LOCK_HELD_SECONDS)
                waiting = not me.done()
                holder.close()
                body = await me
        finally:
            holder.close()

        assert data_of(other, "__typename") == "Query"
        assert waiting
        assert data_of(body, "me")["id"] == payload["user"]["id"]
        # SQLite's usual busy wait would hold the loop the whole time the lock is held.
        assert longest_stall() < LOCK_HELD_SECONDS / 2

    async def test_an_open_write_does_not_hold_the_check_back(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        """WAL: readers never wait for a writer; they see the last commit, then the next."""
        async with started_app(settings) as app, client_of(app) as client:
            payload = await register(client)
            token = payload["accessToken"]
            writer = sqlite3.connect(sqlite_path(database), isolation_level=None)
            try:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute(
                    "UPDATE sessions SET revoked_at = CURRENT_TIMESTAMP WHERE id = ?",
                    (session_id_of(payload),),
                )
                during = await asyncio.gather(*(gql(client, ME, token=token) for _ in range(8)))
                writer.execute("COMMIT")
            finally:
                writer.close()
            after = await gql(client, ME, token=token)

        assert all(data_of(body, "me")["id"] == payload["user"]["id"] for body in during)
        assert_error(after, "UNAUTHENTICATED", reason="TOKEN_REVOKED")


@pytest.mark.parametrize("where", ["loop", "threads", "driver"])
async def test_the_raw_read_answers_the_values_and_types_the_orm_loads(
    settings: Settings, database: SqlDatabase, backend: Any, where: str
) -> None:
    """The read skips SQLAlchemy's execution layer (viewer_read, driver_read): its values
    must not change.

    "loop" is the read on the event loop on SQLite, "driver" the one through a server
    database's async driver; "threads" is where SQLite goes when the loop's read meets a lock.
    """
    if (where == "driver") != (backend.name != "sqlite") and where != "threads":
        pytest.skip(f"{backend.name} has no read of this kind")
    async with running_app(settings) as client:
        payload = await register(client)
    claims = AccessClaims(user_id=int(payload["user"]["id"]), session_id=session_id_of(payload))
    loop_engine = create_loop_reader_engine(settings) if where == "loop" else None
    engine = create_engine(settings)
    driver = DriverConnections(engine, size=1) if where == "driver" else None
    lookup = ViewerLookup(
        create_reader_engine(settings), threads=1, loop_engine=loop_engine, driver=driver
    )
    try:
        viewer = await lookup.resolve(claims)
    finally:
        await lookup.aclose()
        await engine.dispose()

    with Session(database.engine) as db:
        loaded = (db.get(User, claims.user_id), db.get(AuthSession, claims.session_id))
        for read, orm in zip((viewer.user, viewer.session), loaded, strict=True):
            columns = type(read).__table__.columns
            values = {column.key: getattr(read, column.key) for column in columns}
            expected = {column.key: getattr(orm, column.key) for column in columns}
            assert values == expected
            assert {k: type(v) for k, v in values.items()} == {
                k: type(v) for k, v in expected.items()
            }
    assert viewer.user.role is Role.USER


class TestTheCheckThroughTheDriver:
    """A server database: the read runs on the loop, on the async driver's own connections."""

    @pytest.fixture(autouse=True)
    def _server_only(self, backend: Any) -> None:
        if backend.name == "sqlite":
            pytest.skip("SQLite reads on the loop through sqlite3")

    @asynccontextmanager
    async def lookup(self, settings: Settings, size: int) -> AsyncIterator[ViewerLookup]:
        engine = create_engine(settings)
        lookup = ViewerLookup(
            create_reader_engine(settings),
            threads=1,
            driver=DriverConnections(engine, size=size),
        )
        try:
            yield lookup
        finally:
            await lookup.aclose()
            await engine.dispose()

    async def test_parallel_checks_hold_at_most_its_size_of_connections(
        self, settings: Settings, database: SqlDatabase, backend: Any
    ) -> None:
        async with running_app(settings) as client:
            payload = await register(client)
        claims = AccessClaims(user_id=int(payload["user"]["id"]), session_id=session_id_of(payload))
        async with self.lookup(settings, size=3) as lookup:
            before = connections_to(database, backend.name)
            viewers = await asyncio.gather(*(lookup.resolve(claims) for _ in range(60)))
            opened = connections_to(database, backend.name) - before

        assert {viewer.user.id for viewer in viewers} == {claims.user_id}
        assert 1 <= opened <= 3

    async def test_a_cancelled_check_closes_its_connection_and_the_next_one_answers(
        self, settings: Settings, database: SqlDatabase, backend: Any
    ) -> None:
        """Cancelled mid-read (a client that went away), a connection may still owe its
        answer: reused, it would hand the next request the wrong row."""
        async with running_app(settings) as client:
            first = await register(client, "first")
            second = await register(client, "second")
        claims = [
            AccessClaims(user_id=int(p["user"]["id"]), session_id=session_id_of(p))
            for p in (first, second)
        ]
        async with self.lookup(settings, size=1) as lookup:
            await lookup.resolve(claims[0])  # one idle connection
            for _ in range(20):
                cancelled = asyncio.create_task(lookup.resolve(claims[0]))
                await asyncio.sleep(0)  # sent, and not yet answered
                cancelled.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await cancelled
                viewer = await lookup.resolve(claims[1])
                assert viewer.user.id == claims[1].user_id
            idle = connections_to(database, backend.name)

        assert idle <= 2  # the kept one (and the test's own monitor), not one per cancel

    async def test_a_read_the_database_refused_is_sent_once(
        self, settings: Settings, database: SqlDatabase, backend: Any
    ) -> None:
        """Only a connection the server closed earns a second try: a statement the database
        refused is not sent again (the sequence it advances counts its runs), and the other
        idle connection stays."""
        failing, refusal = {
            "postgresql": (
                "SELECT nextval('driver_read_probe') / 0",
                psycopg.errors.DivisionByZero,
            ),
            "mariadb": (
                "SELECT NEXTVAL(driver_read_probe) + (SELECT 1 UNION SELECT 2)",
                asyncmy.errors.OperationalError,  # 1242: the subquery returns more than 1 row
            ),
        }[backend.name]
        next_value = {
            "postgresql": "SELECT nextval('driver_read_probe')",
            "mariadb": "SELECT NEXTVAL(driver_read_probe)",
        }[backend.name]
        with database.engine.begin() as connection:
            connection.exec_driver_sql("DROP SEQUENCE IF EXISTS driver_read_probe")
            connection.exec_driver_sql("CREATE SEQUENCE driver_read_probe")
        engine = create_engine(settings)
        connections = DriverConnections(engine, size=2)
        try:
            await asyncio.gather(*(connections.fetch("SELECT 1", ()) for _ in range(2)))
            with pytest.raises(refusal):
                await connections.fetch(failing, ())
            still = await connections.fetch("SELECT 1", ())
            with database.engine.begin() as connection:
                ran_before = connection.exec_driver_sql(next_value).scalar_one() - 1
        finally:
            await connections.aclose()
            await engine.dispose()
            with database.engine.begin() as connection:
                connection.exec_driver_sql("DROP SEQUENCE IF EXISTS driver_read_probe")

        assert ran_before == 1
        assert still == (1,)
