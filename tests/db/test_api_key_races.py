"""API keys under races, on SQLite and MariaDB: parallel creations stop at the cap (the
owner's row lock), and a revocation racing requests made with the key lets none through
once it has answered. No answer is a 500 or leaks internals, and no request meets a
deadlock or a lock timeout (the app would run it once more, and say so in its log)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from gql_auth.core.models import utcnow
from gql_auth.settings import Settings
from tests.support.api_keys import (
    REVOKE_API_KEY,
    api_key_rows,
    create_api_key,
    create_api_key_body,
    update_api_key,
)
from tests.support.helpers import (
    ME,
    SqlDatabase,
    make_settings,
    register,
    running_app,
)
from tests.support.races import assert_no_conflict_retried, call, outcome

ROUNDS = 2
MAX_KEYS = 2
CREATIONS = 6
USES = 30


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, max_api_keys_per_user=MAX_KEYS)


@pytest.fixture
async def client(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client
    assert_no_conflict_retried(caplog)


class TestParallelCreations:
    async def test_parallel_creations_stop_at_max_api_keys_per_user(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        for _ in range(ROUNDS):
            owner = await register(client)
            before = len(api_key_rows(database))

            bodies = await asyncio.gather(
                *(
                    create_api_key_body(client, owner["accessToken"], scopes=["profile:read"])
                    for _ in range(CREATIONS)
                )
            )

            assert Counter(outcome(body) for body in bodies) == {
                "OK": MAX_KEYS,
                "BAD_USER_INPUT/LIMIT_REACHED": CREATIONS - MAX_KEYS,
            }
            assert len(api_key_rows(database)) == before + MAX_KEYS
            secrets = {body["data"]["createApiKey"]["secret"] for body in bodies if body["data"]}
            assert len(secrets) == MAX_KEYS


async def race_a_revocation(client: httpx.AsyncClient, database: SqlDatabase) -> list[str]:
    """USES requests with a new key, 10 ms apart, and its revocation after 50 ms; what the
    requests sent after the revocation answered got."""
    owner = await register(client)
    created = await create_api_key(client, owner["accessToken"], ["profile:read"])
    key_id, secret = created["apiKey"]["id"], created["secret"]
    # Every request writes lastUsedAt, so those writes race the revocation too.
    update_api_key(database, key_id, last_used_at=utcnow() - timedelta(minutes=5))
    answered: list[float] = []

    async def use(delay: float) -> tuple[float, str]:
        await asyncio.sleep(delay)
        sent = time.monotonic()
        return sent, outcome(await call(client, ME, token=secret))

    async def revoke() -> str:
        await asyncio.sleep(0.05)
        body = await call(client, REVOKE_API_KEY, {"id": key_id}, token=owner["accessToken"])
        answered.append(time.monotonic())
        return outcome(body)

    revocation = asyncio.create_task(revoke())
    uses = await asyncio.gather(*(use(index * 0.01) for index in range(USES)))
    revoked = await revocation
    # On a loaded machine the revocation may answer after every use above was sent: a
    # parallel batch sent after its answer always checks the other side of the race.
    uses += await asyncio.gather(*(use(0) for _ in range(5)))

    assert revoked == "OK"
    assert {result for _, result in uses} <= {"OK", "UNAUTHENTICATED/TOKEN_REVOKED"}
    (row,) = [row for row in api_key_rows(database) if row["id"] == int(key_id)]
    assert row["revoked_at"] is not None  # no lastUsedAt write undid it
    assert outcome(await call(client, ME, token=secret)) == "UNAUTHENTICATED/TOKEN_REVOKED"
    return [result for sent, result in uses if sent >= answered[0]]


class TestRevocationRacingRequests:
    async def test_no_request_sent_after_the_revocation_answered_gets_through(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        for _ in range(ROUNDS):
            after = await race_a_revocation(client, database)

            assert after, "no request was sent after the revocation answered"
            assert set(after) == {"UNAUTHENTICATED/TOKEN_REVOKED"}
