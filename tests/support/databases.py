"""The database backends the tests run on, and fresh migrated databases on each of them.

`BACKENDS` is the one list: tests/db/ runs every database test once per name in it,
tests/api/ runs on SQLite alone, and the system tests that start several server processes
over one database run once per name in `SERVERS`. A server backend (MariaDB and
PostgreSQL) joins by adding a `ServerBackend` to `SERVERS`.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from gql_auth.cli import alembic_directory
from gql_auth.core.database import sync_url
from gql_auth.tables import Base
from tests.support.helpers import SqlDatabase

MARIADB: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
# Debian's PostgreSQL as .ci/run sets it up: trust for local TCP, a `root` role.
POSTGRESQL: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 5432,
    "user": "root",
    "dbname": "postgres",
}


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(alembic_directory()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def mariadb_reachable() -> str | None:
    """None when MariaDB answers, else why not."""
    try:
        pymysql.connect(**MARIADB, connect_timeout=3).close()
    except pymysql.Error as error:
        return str(error)
    return None


@contextmanager
def mariadb_database(prefix: str = "gqlauth_test") -> Iterator[str]:
    """A uniquely named, empty MariaDB database, dropped afterwards; returns its URL.

    The name carries the process id and a random part, so parallel workers never share one.
    """
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    server = pymysql.connect(**MARIADB, autocommit=True)
    try:
        with server.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        yield f"mysql+pymysql://{MARIADB['user']}@{MARIADB['host']}:{MARIADB['port']}/{name}"
    finally:
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


def postgresql_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        psycopg.connect(**POSTGRESQL, connect_timeout=3).close()
    except psycopg.Error as error:
        return str(error)
    return None


@contextmanager
def postgresql_database(prefix: str = "gqlauth_test") -> Iterator[str]:
    """A uniquely named, empty PostgreSQL database, dropped afterwards; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(**POSTGRESQL, autocommit=True) as server:
        server.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        try:
            yield f"postgresql://{POSTGRESQL['user']}@{POSTGRESQL['host']}:{POSTGRESQL['port']}/{name}"
        finally:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class ServerBackend:
    """A database server the suite can run on: how to reach it and make a database on it."""

    name: str
    where: str
    # None when the server answers, else why not.
    reachable: Callable[[], str | None]
    # A fresh, empty database named after the prefix, dropped afterwards; yields its URL.
    database: Callable[[str], AbstractContextManager[str]]


SERVERS: dict[str, ServerBackend] = {
    "mariadb": ServerBackend(
        "mariadb",
        f"MariaDB at {MARIADB['host']}:{MARIADB['port']} (root, no password)",
        mariadb_reachable,
        mariadb_database,
    ),
    "postgresql": ServerBackend(
        "postgresql",
        f"PostgreSQL at {POSTGRESQL['host']}:{POSTGRESQL['port']} (root, trust)",
        postgresql_reachable,
        postgresql_database,
    ),
}
# Every backend a database test runs on, in order; SQLite needs no server.
BACKENDS = ["sqlite", *SERVERS]
# Where the behaviour under test does not depend on the database: SQLite alone.
DEFAULT_BACKENDS = ["sqlite"]


# What CI must run on a server that does not answer, unless a caller says otherwise.
DATABASE_TESTS = "every database test on it too"


def require_server(server: ServerBackend, why: str = DATABASE_TESTS) -> None:
    """Skips when the server does not answer; fails instead under CI=true (`why` says what
    CI must run)."""
    problem = server.reachable()
    if problem is None:
        return
    message = f"{server.where} is unreachable: {problem}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run {why}", pytrace=False)
    pytest.skip(message)


@contextmanager
def server_database(backend: str, prefix: str, why: str = DATABASE_TESTS) -> Iterator[SqlDatabase]:
    """A fresh, empty database on `SERVERS[backend]` with a sync engine on it, dropped afterwards.

    Skips when the server does not answer, and fails instead under CI=true.
    """
    server = SERVERS[backend]
    require_server(server, why)
    with server.database(prefix) as url:
        engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
        try:
            yield SqlDatabase(url, engine)
        finally:
            engine.dispose()


@dataclass
class Backend:
    name: str
    # SQLite: path of a migrated file, copied per test. A server: URL of the one migrated
    # database of this run (of this worker, under xdist), emptied before each test.
    template: str
    engine: sa.Engine | None = None

    @contextmanager
    def empty_database(self, directory: Path) -> Iterator[str]:
        """A database with no tables at all, for migration tests."""
        if self.name == "sqlite":
            yield f"sqlite:///{directory / 'empty.db'}"
        else:
            with SERVERS[self.name].database("gqlauth_empty") as url:
                yield url

    @contextmanager
    def fresh_database(self, directory: Path) -> Iterator[SqlDatabase]:
        """A migrated database with no rows, private to one test."""
        if self.name == "sqlite":
            path = directory / "test.db"
            shutil.copyfile(self.template, path)
            url = f"sqlite:///{path}"
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            try:
                yield SqlDatabase(url, engine)
            finally:
                engine.dispose()
            return
        assert self.engine is not None
        _delete_all_rows(self.engine)
        yield SqlDatabase(self.template, self.engine)


@contextmanager
def open_backend(name: str, directory: Path) -> Iterator[Backend]:
    """One migrated database of this backend for a whole run (skips or fails if it is down)."""
    if name == "sqlite":
        template = directory / "template.db"
        migrate(f"sqlite:///{template}")
        yield Backend("sqlite", str(template))
        return
    with server_database(name, "gqlauth_test") as database:
        migrate(database.url)
        yield Backend(name, database.url, database.engine)


def _delete_all_rows(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
