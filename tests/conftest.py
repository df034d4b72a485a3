"""Fixtures shared by every layer: a real database, the real app over HTTP, no mocks.

The layers (unit/, api/, db/, system/) are laid out by cost. A test that asks for
`database` (directly or through `settings`/`client`) runs on SQLite; under tests/db/
it runs once per backend of tests.support.databases.BACKENDS (SQLite, MariaDB and
PostgreSQL), because there the database is what is tested. With CI=true an unreachable
server fails the run instead of skipping it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.databases import DEFAULT_BACKENDS, Backend, open_backend
from tests.support.helpers import SqlDatabase, make_settings, running_app


@pytest.fixture(autouse=True)
def _no_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone: an exported DATABASE_URL must not leak in."""
    names = set(Settings.model_fields)
    for key in list(os.environ):
        if key.lower() in names:
            monkeypatch.delenv(key)


@pytest.fixture(scope="session", params=DEFAULT_BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """SQLite; tests/db/conftest.py overrides this with every backend."""
    with open_backend(request.param, tmp_path_factory.mktemp(request.param)) as opened:
        yield opened


@pytest.fixture
def database(backend: Backend, tmp_path: Path) -> Iterator[SqlDatabase]:
    """A migrated database with no rows, private to this test."""
    with backend.fresh_database(tmp_path) as fresh:
        yield fresh


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client
