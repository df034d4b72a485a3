"""Fixtures: a real database on every backend, the real app over HTTP, no mocks.

Every test that asks for `database` (directly or through `settings`/`client`)
runs once on SQLite and once on MariaDB when 127.0.0.1:3306 answers. With
CI=true an unreachable MariaDB fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pymysql
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from gql_auth.cli import alembic_directory
from gql_auth.settings import Settings
from gql_auth.tables import Base
from tests.helpers import SqlDatabase, make_settings, running_app

MARIADB: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(alembic_directory()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


@pytest.fixture(autouse=True)
def _no_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone: an exported DATABASE_URL must not leak in."""
    names = set(Settings.model_fields)
    for key in list(os.environ):
        if key.lower() in names:
            monkeypatch.delenv(key)


# --- backends ------------------------------------------------------------------


def mariadb_reachable() -> str | None:
    """None when MariaDB answers, else why not."""
    try:
        pymysql.connect(**MARIADB, connect_timeout=3).close()
    except pymysql.Error as error:
        return str(error)
    return None


@contextmanager
def mariadb_database(prefix: str = "gqlauth_test") -> Iterator[str]:
    """A uniquely named, empty MariaDB database, dropped afterwards; returns its URL."""
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


@dataclass
class Backend:
    name: str
    # SQLite: path of a migrated file, copied per test. MariaDB: URL of the one migrated
    # database of this run, emptied before each test.
    template: str
    engine: sa.Engine | None = None

    @contextmanager
    def empty_database(self, directory: Path) -> Iterator[str]:
        """A database with no tables at all, for migration tests."""
        if self.name == "sqlite":
            yield f"sqlite:///{directory / 'empty.db'}"
        else:
            with mariadb_database("gqlauth_empty") as url:
                yield url


@pytest.fixture(scope="session", params=["sqlite", "mariadb"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.db"
        migrate(f"sqlite:///{template}")
        yield Backend("sqlite", str(template))
        return
    problem = mariadb_reachable()
    if problem is not None:
        where = f"{MARIADB['host']}:{MARIADB['port']}"
        message = f"MariaDB at {where} (root, no password) is unreachable: {problem}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run every test on MariaDB too", pytrace=False)
        pytest.skip(message)
    with mariadb_database() as url:
        migrate(url)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            yield Backend("mariadb", url, engine)
        finally:
            engine.dispose()


def _delete_all_rows(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def database(backend: Backend, tmp_path: Path) -> Iterator[SqlDatabase]:
    """A migrated database with no rows, private to this test."""
    if backend.name == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(backend.template, path)
        url = f"sqlite:///{path}"
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            yield SqlDatabase(url, engine)
        finally:
            engine.dispose()
        return
    assert backend.engine is not None
    _delete_all_rows(backend.engine)
    yield SqlDatabase(backend.template, backend.engine)


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client
