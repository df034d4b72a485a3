"""The viewer check on a server database, on the event loop, through the async driver itself.

On a reader thread, PyMySQL's pure-Python protocol held the GIL the event loop
needed, and every read cost two thread hand-overs (docs/performance.md,
"Database drivers"). Here the read is one round trip on a connection of the
service's own async driver (asyncmy's Cython protocol, psycopg's C one): the
loop sends the query and serves other requests until the answer arrives. No
SQLAlchemy execution layer and no greenlet: the SQL and each column's
converter are worked out once, as in gql_auth.sessions.viewer_read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import KeyedColumnElement

from gql_auth.sessions.viewer_read import Found

_Connect = Callable[[], Awaitable[Any]]
# The statements these connections run: the viewer read by session and by API key.
_VIEWER_READS = 2


class DriverConnections:
    """A server database's async driver connections for the viewer reads, on the event loop.

    At most `size` reads wait on the database at once; the rest queue here. A
    connection whose read failed or was cancelled is closed, never reused: its
    protocol state is unknown. After a connection the server closed (a restart,
    wait_timeout), the read runs once more on a new one, and the idle ones,
    closed too, are let go.
    """

    def __init__(self, engine: AsyncEngine, *, size: int) -> None:
        self.dialect = engine.dialect
        arguments, keywords = self.dialect.create_connect_args(engine.url)
        self._connect = _driver_connect(self.dialect.driver, list(arguments), dict(keywords))
        self._fetch_on = _FETCHES[self.dialect.driver]
        self._idle: list[Any] = []
        self._slots = asyncio.Semaphore(size)

    async def fetch(self, sql: str, parameters: object) -> tuple[object, ...] | None:
        async with self._slots:
            for attempt in (1, 2):
                reused = bool(self._idle)
                connection = self._idle.pop() if reused else await self._connect()
                try:
                    row: tuple[object, ...] | None = await self._fetch_on(
                        connection, sql, parameters
                    )
                except BaseException as error:
                    lost = _lost(error, connection)  # asked before closing it ourselves
                    await _close(connection)
                    if attempt == 1 and reused and lost:
                        await self.aclose()  # its pool-mates went with it
                        continue
                    raise
                self._idle.append(connection)
                return row
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await _close(connection)


class DriverRead:
    """One of the viewer reads, compiled for the driver: its columns' values, converted, or None."""

    def __init__(
        self,
        connections: DriverConnections,
        statement: Select[tuple[object, ...]],
        columns: tuple[KeyedColumnElement[Any], ...],
    ) -> None:
        dialect = connections.dialect
        compiled = statement.compile(dialect=dialect)
        self._connections = connections
        self._sql = str(compiled)
        self._positions = compiled.positiontup  # None for a named paramstyle (psycopg)
        self._converters = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )

    async def read(self, values: Mapping[str, object]) -> Found:
        positions = self._positions
        parameters = values if positions is None else tuple(values[name] for name in positions)
        row = await self._connections.fetch(self._sql, parameters)
        if row is None:
            return None
        return tuple(
            value if convert is None else convert(value)
            for convert, value in zip(self._converters, row, strict=True)
        )


def _driver_connect(driver: str, arguments: list[Any], keywords: dict[str, Any]) -> _Connect:
    if driver == "asyncmy":
        import asyncmy

        # Both reads prepared on the server once per connection, their rows in the binary
        # protocol: no escaping of values, no parsing of the SQL per read.
        prepared = {"autocommit": True, "stmt_cache_size": _VIEWER_READS}
        return lambda: asyncmy.connect(*arguments, **(keywords | prepared))
    if driver == "psycopg":
        import psycopg

        return lambda: psycopg.AsyncConnection.connect(
            *arguments, **(keywords | {"autocommit": True})
        )
    raise ValueError(f"no read on the loop for the driver {driver!r}")


async def _fetch_asyncmy(connection: Any, sql: str, parameters: object) -> Any:
    async with connection.cursor() as cursor:
        await cursor.execute(sql, parameters)
        return await cursor.fetchone()


async def _fetch_psycopg(connection: Any, sql: str, parameters: object) -> Any:
    # psycopg prepares it on the server after its fifth run on a connection (prepare_threshold).
    cursor = await connection.execute(sql, parameters)
    return await cursor.fetchone()


_FETCHES = {"asyncmy": _fetch_asyncmy, "psycopg": _fetch_psycopg}


def _lost(error: BaseException, connection: Any) -> bool:
    """The server or the network closed the connection (not an error of the query)."""
    if isinstance(error, ConnectionError | EOFError):
        return True
    module = type(error).__module__
    if module.startswith("psycopg"):
        return bool(connection.broken or connection.closed)
    if module.startswith("asyncmy"):
        code = error.args[0] if error.args else None
        return code in _MYSQL_LOST or type(error).__name__ == "InterfaceError"
    return False


# Server gone away, lost connection during query, lost connection in a read.
_MYSQL_LOST = frozenset({2006, 2013, 2055})


async def _close(connection: Any) -> None:
    with contextlib.suppress(Exception):
        closing = connection.close()
        if asyncio.iscoroutine(closing):
            await closing
