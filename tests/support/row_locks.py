"""Row locks held from a second connection, as another server's transaction would hold them.

On MariaDB (PyMySQL) and PostgreSQL (psycopg) alike, each helper choosing its driver by the
backend's name; statements use `%s` placeholders, which both drivers take. SQLite locks
the whole file, never a row: a test of row locks skips there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pymysql
import pytest
from sqlalchemy.engine import make_url

from gql_auth.core.models import utcnow
from tests.support.databases import MARIADB, POSTGRESQL
from tests.support.helpers import SqlDatabase

ROW_LOCKING_BACKENDS = ("mariadb", "postgresql")


@dataclass(frozen=True)
class Conflict:
    """A deadlock or a lock timeout as one server reports it."""

    # How the retry's log line names it, at its end: "(asyncmy 1213)".
    code: str
    # Pieces of the driver's message, each of which alone tells this conflict.
    words: tuple[str, ...]

    def told_in(self, text: str) -> bool:
        return any(word in text for word in self.words)


DEADLOCK = {
    "mariadb": Conflict("asyncmy 1213", ("Deadlock found",)),
    "postgresql": Conflict("psycopg 40P01", ("deadlock detected",)),
}
LOCK_TIMEOUT = {
    "mariadb": Conflict("asyncmy 1205", ("Lock wait",)),
    "postgresql": Conflict("psycopg 55P03", ("lock timeout", "canceling statement")),
}


def require_row_locks(backend: str) -> None:
    if backend not in ROW_LOCKING_BACKENDS:
        pytest.skip("row locks held from a second connection: MariaDB and PostgreSQL only")


def database_name(database: SqlDatabase) -> str:
    name = make_url(database.url).database
    assert name
    return name


def lock_timeout_url(backend: str, database: SqlDatabase, seconds: int) -> str:
    """The database's URL, its connections giving up on a row lock after `seconds`.

    The defaults wait 50 seconds (innodb_lock_wait_timeout) and forever (lock_timeout).
    """
    if backend == "postgresql":
        return f"{database.url}?options=-c%20lock_timeout%3D{seconds * 1000}"
    return f"{database.url}?init_command=SET%20innodb_lock_wait_timeout%3D{seconds}"


class OtherTransaction:
    """Another server's transaction, open on a connection of its own."""

    def __init__(self, connection: pymysql.Connection[Any] | psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, statement: str, *args: Any) -> None:
        if isinstance(self._connection, psycopg.Connection):
            self._connection.execute(statement, args)
            return
        with self._connection.cursor() as cursor:
            cursor.execute(statement, args)


@contextmanager
def other_transaction(
    backend: str, database: SqlDatabase, *, survives_deadlocks: bool = False
) -> Iterator[OtherTransaction]:
    """A second connection with an open transaction, rolled back at the end.

    With `survives_deadlocks`, a deadlock between it and the app rolls the app's side
    back, never this one. PostgreSQL looks for a cycle once per wait, deadlock_timeout
    (a second) after the wait began: close the cycle within that second of the app's
    waiting, as soon as wait_for_a_lock_wait returns.
    """
    if backend == "postgresql":
        with psycopg.connect(**POSTGRESQL | {"dbname": database_name(database)}) as connection:
            other = OtherTransaction(connection)  # psycopg opens the transaction by itself
            if survives_deadlocks:
                # The waiter whose deadlock_timeout runs out first finds the cycle and
                # aborts itself: the app's, at its default second, long before this one.
                other.execute("SET deadlock_timeout = '10s'")
            try:
                yield other
            finally:
                connection.rollback()
        return
    mariadb = pymysql.connect(**MARIADB, database=database_name(database), autocommit=False)
    try:
        mariadb.begin()
        if survives_deadlocks:
            _make_heavy(mariadb)
        yield OtherTransaction(mariadb)
    finally:
        mariadb.rollback()
        mariadb.close()


def _make_heavy(connection: pymysql.Connection[Any]) -> None:
    """InnoDB rolls back the lighter of two deadlocked transactions: let that be the app's."""
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO security_events (kind, at) VALUES (%s, %s)",
            [("TEST_BALLAST", utcnow().replace(tzinfo=None))] * 300,
        )


def wait_for_a_lock_wait(backend: str, database: SqlDatabase, timeout: float = 20.0) -> None:
    """Until a transaction on this test's database waits for a row lock."""
    deadline = time.monotonic() + timeout
    with _monitor(backend) as someone_waits:
        while time.monotonic() < deadline:
            if someone_waits(database_name(database)):
                return
            time.sleep(0.02)
    raise AssertionError("no transaction ever waited for the lock")


@contextmanager
def _monitor(backend: str) -> Iterator[Callable[[str], bool]]:
    """A function telling whether a connection to the named database waits for a lock."""
    if backend == "postgresql":
        with psycopg.connect(**POSTGRESQL, autocommit=True) as server:

            def postgresql_waits(name: str) -> bool:
                row = server.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                    " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
                    (name,),
                ).fetchone()
                return bool(row and row[0])

            yield postgresql_waits
        return
    monitor = pymysql.connect(**MARIADB, autocommit=True)

    def mariadb_waits(name: str) -> bool:
        with monitor.cursor() as cursor:
            # MariaDB may wait for a row lock while still optimizing a unique-key
            # lookup (state "Statistics"), its transaction RUNNING: a statement
            # unfinished after half a second, while we hold its rows, waits too.
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST p "
                "LEFT JOIN information_schema.INNODB_TRX t ON p.ID = t.trx_mysql_thread_id "
                "WHERE p.DB = %s AND p.ID <> CONNECTION_ID() AND (t.trx_state = 'LOCK WAIT'"
                " OR (p.COMMAND = 'Query' AND p.TIME_MS > 500))",
                (name,),
            )
            (waiting,) = cursor.fetchone() or (0,)
        return bool(waiting)

    try:
        yield mariadb_waits
    finally:
        monitor.close()
