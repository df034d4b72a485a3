"""Webhooks from real `gql-auth serve` processes on a server database and Redis, to a real
receiver; every test runs once on MariaDB and once on PostgreSQL.

The receiver (tests/support/webhooks.py) runs in the test's event loop, outside every
server process, and checks each delivery's signature with the standardwebhooks library.
A server killed with SIGKILL while its delivery is in flight leaves the attempt claimed;
a restarted server sends it (same webhook-id) once the lease has ended. Two servers of two
workers each deliver 50 events exactly once. A production server refuses, at delivery, an
endpoint that an earlier deployment allowed on a private address.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import run_cli
from tests.support.databases import SERVERS, server_database
from tests.support.helpers import (
    PRODUCTION_ARGON2_ENVIRONMENT,
    STRONG_PASSWORD,
    SqlDatabase,
    login,
    register,
    unique_username,
)
from tests.support.redis import REDIS_URL, redis_key_prefix
from tests.support.servers import ServerProcess, migrate, server_environment, wait_for_workers
from tests.support.webhooks import (
    Received,
    Receiver,
    create_endpoint,
    receiving,
    wait_for_deliveries,
    wait_for_endpoints,
)

pytestmark = pytest.mark.slow

EVENTS = 50
SETTLED = 90.0  # a deadline for what must happen, never a measure of how fast
ADMIN = "hookadmin"


@pytest.fixture(params=list(SERVERS))
def database(request: pytest.FixtureRequest) -> Iterator[SqlDatabase]:
    """A database of this test's own, on each server backend in turn (not tests/conftest.py's
    SQLite): its endpoints receive no other test's events."""
    with server_database(request.param, "gqlauth_hooks", "the webhook system tests") as created:
        yield created


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    with redis_key_prefix("gqlauth-hooks", "the webhook system tests") as prefix:
        yield prefix


def environment(database_url: str, redis_prefix: str, **extra: str) -> dict[str, str]:
    return server_environment(
        database_url,
        REDIS_URL=REDIS_URL,
        RATE_LIMIT_KEY_PREFIX=redis_prefix,
        RATE_LIMIT_REGISTER_IP="1000/hour",  # every registration comes from 127.0.0.1
        WEBHOOK_POLL_SECONDS="0.1",
        LOG_LEVEL="INFO",  # wait_for_workers reads uvicorn's start-up lines
        **extra,
    )


async def prepared(env: dict[str, str], workdir: Path) -> None:
    """`gql-auth migrate`, and an ADMIN made with `gql-auth create-admin`."""
    await asyncio.to_thread(migrate, env, workdir)
    created = await asyncio.to_thread(
        run_cli,
        "create-admin",
        "--username",
        ADMIN,
        "--email",
        f"{ADMIN}@example.com",
        cwd=workdir,
        env={"DATABASE_URL": env["DATABASE_URL"]},
        stdin=STRONG_PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr


@asynccontextmanager
async def serving(
    env: dict[str, str], workdir: Path, *args: str, workers: int = 1, servers: int = 1
) -> AsyncIterator[list[tuple[ServerProcess, httpx.AsyncClient]]]:
    """`servers` processes of `gql-auth serve`, started together, healthy, each with a
    client; stopped (SIGTERM) after."""
    started = [ServerProcess(env, workdir, *args) for _ in range(servers)]

    def ready(server: ServerProcess) -> None:
        server.wait_until_healthy()
        wait_for_workers(server, workers)

    try:
        # On threads: the receiver in this loop must answer meanwhile.
        await asyncio.gather(*(asyncio.to_thread(ready, server) for server in started))
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=30))
                for server in started
            ]
            yield list(zip(started, clients, strict=True))
    finally:
        await asyncio.gather(*(asyncio.to_thread(server.stop) for server in started))


async def admin_token(client: httpx.AsyncClient) -> str:
    return str((await login(client, ADMIN))["accessToken"])


def verified(received: list[Received], receiver: Receiver) -> bool:
    return all(got.verified_by == receiver.secrets for got in received)


class TestCrash:
    async def test_a_delivery_cut_off_by_sigkill_is_sent_after_a_restart(
        self, database: SqlDatabase, redis_prefix: str, tmp_path: Path
    ) -> None:
        # The lease is 2 x 1 s + 5 s: the restarted server sends about 7 s after the claim.
        env = environment(database.url, redis_prefix, WEBHOOK_TIMEOUT_SECONDS="1")
        await prepared(env, tmp_path)
        running: list[ServerProcess] = []
        killed: list[Received] = []

        def kill_the_sender(got: Received) -> None:
            """The first delivery never gets an answer: its server dies while it waits."""
            if not killed:
                server = running[0]
                server.process.send_signal(signal.SIGKILL)
                server.process.wait()
                killed.append(got)

        async with receiving(on_request=kill_the_sender) as receiver:
            async with serving(env, tmp_path) as [(first, client)]:
                running.append(first)
                token = await admin_token(client)
                await create_endpoint(
                    client, token, receiver.url, ["user.created"], receiver=receiver
                )
                user = (await register(client))["user"]
                await receiver.wait_for(1, timeout=SETTLED)
            assert first.process.returncode == -signal.SIGKILL

            async with serving(env, tmp_path) as [(_second, client)]:
                await receiver.wait_for(2, timeout=SETTLED)
                token = await admin_token(client)
                deliveries = await wait_for_deliveries(
                    client,
                    token,
                    lambda found: bool(found) and found[0]["status"] == "SUCCEEDED",
                    timeout=SETTLED,
                )
            received = list(receiver.received)

        (cut_off,) = killed
        assert [got.id for got in received] == [cut_off.id, cut_off.id]
        assert verified(received, receiver)
        assert received[1].event["data"]["id"] == user["id"]
        # The first attempt itself, sent again: no outcome was ever recorded for it.
        assert [
            (d["eventId"], d["attempt"], d["status"], d["responseStatus"]) for d in deliveries
        ] == [(cut_off.id, 1, "SUCCEEDED", 204)]


class TestTwoServers:
    async def test_two_servers_of_two_workers_deliver_50_events_exactly_once(
        self, database: SqlDatabase, redis_prefix: str, tmp_path: Path
    ) -> None:
        env = environment(database.url, redis_prefix)
        await prepared(env, tmp_path)
        async with receiving() as receiver:
            async with serving(env, tmp_path, "--workers", "2", workers=2, servers=2) as [
                (_first, one),
                (_second, other),
            ]:
                token = await admin_token(one)
                await create_endpoint(one, token, receiver.url, ["user.created"], receiver=receiver)

                payloads = await asyncio.gather(
                    *(register(one if index % 2 else other) for index in range(EVENTS))
                )

                await receiver.wait_for(EVENTS, timeout=SETTLED)
                (endpoint,) = await wait_for_endpoints(
                    other, token, lambda found: _all_recorded(found[0], EVENTS), timeout=SETTLED
                )
            # Both servers stopped (SIGTERM): every worker is gone, nothing more arrives.
            received = list(receiver.received)

        ids = [got.id for got in received]
        assert len(ids) == EVENTS
        assert len(set(ids)) == EVENTS
        assert verified(received, receiver)
        assert {got.event["data"]["id"] for got in received} == {
            payload["user"]["id"] for payload in payloads
        }
        assert endpoint["failingSince"] is None
        deliveries = _deliveries(database)
        assert sorted(deliveries) == sorted((event_id, 1, "SUCCEEDED", 204) for event_id in ids)


def _all_recorded(endpoint: dict[str, Any], count: int) -> bool:
    """The endpoint has `count` attempts (or more), and none is PENDING any longer."""
    deliveries = endpoint["deliveries"]
    return len(deliveries) >= count and all(d["status"] != "PENDING" for d in deliveries)


def _deliveries(database: SqlDatabase) -> list[tuple[str, int, str, int | None]]:
    """Every attempt, read straight from the database: (event id, attempt, status, HTTP status)."""
    return [
        (row["event_id"], row["attempt"], row["status"], row["response_status"])
        for row in database.rows("webhook_deliveries")
    ]


class TestPrivateAddressesAtDelivery:
    async def test_production_refuses_endpoints_an_earlier_deployment_allowed(
        self, database: SqlDatabase, redis_prefix: str, tmp_path: Path
    ) -> None:
        allowed = environment(database.url, redis_prefix, WEBHOOK_ALLOW_PRIVATE_URLS="true")
        # Production's default: WEBHOOK_ALLOW_PRIVATE_URLS unset is false. One attempt each.
        production = environment(
            database.url,
            redis_prefix,
            ENVIRONMENT="production",
            **PRODUCTION_ARGON2_ENVIRONMENT,
            WEBHOOK_RETRY_SCHEDULE="",
        )
        await prepared(allowed, tmp_path)
        async with receiving() as receiver:
            port = receiver.port
            urls = {
                receiver.url: "refused: Webhook URLs must use https",  # the receiver itself
                f"https://127.0.0.1:{port}/hooks": "refused: The URL resolves to a non-public",
                f"https://localhost:{port}/hooks": "refused: The URL resolves to a non-public",
                "https://169.254.169.254/latest/meta-data/": "refused: The URL resolves to a non",
            }
            async with serving(allowed, tmp_path) as [(_internal, client)]:
                token = await admin_token(client)
                for url in urls:
                    await create_endpoint(client, token, url, ["user.created"], receiver=receiver)
            # Stopped before any event: only the production server can send.

            async with serving(production, tmp_path) as [(_public, client)]:
                await register(client, unique_username("victim"))
                token = await admin_token(client)
                listed = await wait_for_endpoints(
                    client,
                    token,
                    lambda found: all(_all_recorded(endpoint, 1) for endpoint in found),
                    timeout=SETTLED,
                )
            received = list(receiver.received)

        assert received == []
        assert [endpoint["url"] for endpoint in listed] == list(urls)
        for endpoint in listed:
            (delivery,) = endpoint["deliveries"]
            assert (delivery["attempt"], delivery["status"], delivery["responseStatus"]) == (
                1,
                "FAILED",
                None,
            )
            assert delivery["error"].startswith(urls[endpoint["url"]]), delivery
