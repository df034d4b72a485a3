"""tests/db/: what depends on the database, run once on every backend.

Races and locks, retries, uniqueness and collation, migrations, windows and
reservations kept in the database, prune deletes: each test that asks for
`database` (or `settings`/`client`) runs on SQLite, MariaDB and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import BACKENDS, Backend, open_backend
from tests.support.redis import redis_key_prefix


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    with open_backend(request.param, tmp_path_factory.mktemp(request.param)) as opened:
        yield opened


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis; only its keys are deleted after."""
    with redis_key_prefix("gqlauth-test", "the Redis tests too") as prefix:
        yield prefix
