"""Engine and session factory built from CoreSettings; the request owns the transaction."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy
from sqlalchemy import Result, delete, event, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import InstrumentedAttribute

from gql_auth.core.models import utcnow
from gql_auth.core.settings import CoreSettings

# Users write the familiar sync URLs; the service talks through async drivers
# so no database call blocks the event loop, while migrations stay sync.
# asyncmy over aiomysql: less CPU per statement here (docs/performance.md).
_ASYNC_DRIVERS = {
    "sqlite": "aiosqlite",
    "mysql": "asyncmy",
    "mariadb": "asyncmy",
    "postgresql": "psycopg",
}
_SYNC_DRIVERS = {
    "sqlite": "pysqlite",
    "mysql": "pymysql",
    "mariadb": "pymysql",
    "postgresql": "psycopg",
}


def async_url(url: str | URL) -> URL:
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.get_backend_name())
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}") if driver else parsed


def sync_url(url: str | URL) -> URL:
    parsed = make_url(url)
    driver = _SYNC_DRIVERS.get(parsed.get_backend_name())
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}") if driver else parsed


def _mysql_charset(url: URL) -> URL:
    # utf8mb4 everywhere: usernames and e-mail may hold any Unicode.
    if url.get_backend_name() in {"mysql", "mariadb"} and "charset" not in url.query:
        return url.update_query_dict({"charset": "utf8mb4"})
    return url


def create_engine(settings: CoreSettings) -> AsyncEngine:
    url = _mysql_charset(async_url(settings.database_url))
    create_private_sqlite_file(url)
    engine = create_async_engine(url, **_engine_options(url, settings))
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_reader_engine(
    settings: CoreSettings, *, lock_wait_seconds: float | None = None
) -> Engine:
    """A sync engine for short reads run whole on a database thread (sessions/viewer_lookup.py).

    Through the async driver every statement, fetch and reset is its own hand-over
    to aiosqlite's thread; a sync connection used on one thread does them all in one.
    """
    url = _mysql_charset(sync_url(settings.database_url))
    create_private_sqlite_file(url)
    options = _engine_options(url, settings) | {
        # Single reads, never a transaction: no BEGIN, and no ROLLBACK when a
        # connection goes back to the pool; a dropped server connection is
        # retried by the reader instead of pinged before every checkout.
        "isolation_level": "AUTOCOMMIT",
        "pool_reset_on_return": None,
        "pool_pre_ping": False,
    }
    if url.get_backend_name() == "sqlite":
        # Checked out by whichever reader thread runs the read, one thread at a time.
        options["connect_args"] = {**options["connect_args"], "check_same_thread": False}
        if lock_wait_seconds is not None:
            options["connect_args"]["timeout"] = lock_wait_seconds
    engine = sqlalchemy.create_engine(url, **options)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_loop_reader_engine(settings: CoreSettings) -> Engine | None:
    """SQLite only: an engine for reads on the event loop itself, which never waits on a lock.

    In WAL mode a reader does not wait for writers, of this process or another;
    the rare lock it could meet (WAL recovery, a connection in exclusive locking
    mode) fails at once here and the caller reads on a thread instead. A server
    database is a network round trip away: never read on the loop.
    """
    if sync_url(settings.database_url).get_backend_name() != "sqlite":
        return None
    return create_reader_engine(settings, lock_wait_seconds=0)


def _engine_options(url: URL, settings: CoreSettings) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        # SQLite waits on its own file lock; a generous timeout beats "database is locked".
        # No pre-ping: a file never drops the connection, and with aiosqlite each
        # ping cost four thread hops per request (docs/performance.md).
        return {"connect_args": {"timeout": 30}}
    return {
        "pool_pre_ping": True,  # a server may have closed an idle connection
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_recycle": 1800,
        # Each statement sees the latest commit and InnoDB takes no gap locks on
        # searches: sign-ins of different users, whose sessions sit side by side
        # in the user_id index, no longer deadlock on the gap between them.
        "isolation_level": "READ COMMITTED",
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: rows stay readable after the request commits.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def savepoint(db: AsyncSession) -> AsyncIterator[None]:
    """`db.begin_nested()`, inside a transaction that is really open.

    SQLite's Python drivers send BEGIN only before a write: a SAVEPOINT sent first
    would start the transaction itself, and releasing it would commit at once,
    apart from the request's other writes (its outbox events among them) and
    whatever rolls them back.
    """
    connection = await db.connection()
    if connection.dialect.name == "sqlite":
        raw = await connection.get_raw_connection()
        if not raw.driver_connection.in_transaction:  # type: ignore[union-attr]
            await connection.exec_driver_sql("BEGIN")
    async with db.begin_nested():
        yield


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (0 when the driver cannot tell)."""
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_expired(
    db: AsyncSession,
    key: InstrumentedAttribute[Any],
    expires_at: InstrumentedAttribute[datetime],
    *,
    batch: int,
) -> int:
    """Deletes up to `batch` rows whose `expires_at` has passed, found first, then by key.

    For single-use rows taken by their key while live (passkey challenges, social
    sign-in states). A DELETE ranging over the expires_at index locks each index
    entry before its row, the opposite of taking a row by its key (its row, then
    its entries): on MariaDB the two deadlocked whenever a sweep reached a row
    being taken. So the expired keys are read with a plain read and deleted by key
    alone (with expires_at in that WHERE, MariaDB picks its index again); an
    expired row stays expired, as expires_at is never written after insert.
    """
    expired = (
        await db.scalars(select(key).where(expires_at <= utcnow()).order_by(key).limit(batch))
    ).all()
    if not expired:
        return 0
    result = await db.execute(
        delete(key.class_).where(key.in_(expired)).execution_options(synchronize_session=False)
    )
    return rowcount(result)


# MySQL/MariaDB: 1213 deadlock (the server rolled the transaction back), 1205 lock wait
# timeout. SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), "database is locked".
_MYSQL_CONFLICTS = frozenset({1205, 1213})
# PostgreSQL: deadlock detected, serialization failure, lock not available (lock_timeout).
_POSTGRESQL_CONFLICTS = frozenset({"40P01", "40001", "55P03"})
_SQLITE_CONFLICTS = frozenset({5, 6})


def is_transient_conflict(error: BaseException) -> bool:
    """A deadlock or lock timeout: once rolled back, the same transaction may well succeed."""
    return transient_conflict_of(error) is not None


def transient_conflict_of(error: BaseException) -> BaseException | None:
    """The driver's deadlock or lock-timeout error behind `error`, if there is one."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _is_driver_conflict(current):
            return current
        # SQLAlchemy keeps the driver's exception in .orig; Python chains the rest.
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None]
        pending += [current.__cause__, current.__context__]
    return None


def conflict_code(error: BaseException) -> str:
    """Which conflict it was, for the log: the driver's code, never its message (it may
    quote SQL or values)."""
    module = type(error).__module__.split(".")[0]
    if module == "sqlite3":
        return f"sqlite3 {getattr(error, 'sqlite_errorname', 'SQLITE_BUSY')}"
    if module == "psycopg":
        return f"psycopg {getattr(error, 'sqlstate', None)}"
    return f"{module} {error.args[0] if error.args else None}"


def _is_driver_conflict(error: BaseException) -> bool:
    module = type(error).__module__
    code = error.args[0] if error.args else None
    if module.startswith(("pymysql", "asyncmy")):
        return code in _MYSQL_CONFLICTS
    if module.startswith("psycopg"):
        return getattr(error, "sqlstate", None) in _POSTGRESQL_CONFLICTS
    if module == "sqlite3":
        sqlite_code = getattr(error, "sqlite_errorcode", None)
        if isinstance(sqlite_code, int):
            return sqlite_code & 0xFF in _SQLITE_CONFLICTS  # extended codes keep it in the low byte
        return "database is locked" in str(error) or "database table is locked" in str(error)
    return False


def create_private_sqlite_file(url: str | URL) -> None:
    """Creates a SQLite database file 0600 before SQLite would create it 0644.

    SQLite gives its -wal and -shm files the database file's mode. A file that
    exists is left alone, and any failure (say a missing directory) is left to
    SQLite to report on first use, as before.
    """
    path = _sqlite_path(url)
    if path is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError:
        return
    os.close(fd)


def shared_sqlite_file_mode(url: str | URL) -> int | None:
    """The mode of an existing SQLite database file that other users may read, else None."""
    path = _sqlite_path(url)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode) if path is not None else 0
    except OSError:
        return None
    return mode if mode & 0o077 else None


def _sqlite_path(url: str | URL) -> str | None:
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return None
    if path.startswith("file:") or parsed.query.get("uri"):
        return None  # URI filenames name their own options; leave them to SQLite
    return path
