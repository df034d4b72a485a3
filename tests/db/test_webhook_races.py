"""Webhooks under races and crashes, on SQLite and MariaDB: two apps (two workers, each with
its own DeliveryWorker) on one database send each event once to a healthy receiver, the
endpoint cap holds across them, an attempt whose worker died after claiming it is sent again
(same webhook-id) once its lease ends and the dead worker's late record changes nothing, a
rolled-back change sends nothing, and prune keeps what is not finished.

Every delivery goes over real HTTP to tests/support/webhooks.py's receiver, which checks the
signature with the standardwebhooks library. The sync SqlDatabase helpers run on a thread
once an endpoint exists: on SQLite a worker may hold the write lock, and a sync call on the
event loop would keep that worker from ever finishing its transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from gql_auth import retention
from gql_auth.accounts import accounts
from gql_auth.core.client_info import NO_CLIENT
from gql_auth.core.models import utcnow
from gql_auth.services import Services, build_services
from gql_auth.settings import Settings
from gql_auth.webhooks import outbox, queue
from gql_auth.webhooks.sender import Outcome
from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    client_of,
    make_settings,
    register,
    register_admin,
    started_app,
    unique_username,
)
from tests.support.races import assert_no_conflict_retried, call, outcome
from tests.support.webhooks import CREATE_ENDPOINT, DELETE_ENDPOINT, create_endpoint, receiving

EVENTS = 30  # events two workers race to deliver
MAX_ENDPOINTS = 2
CREATIONS = 8  # parallel createWebhookEndpoint calls, split over two apps
ROUNDS = 2
URL = "https://hooks.example.com/gql-auth"
POLL = 0.05  # seconds between a worker's looks at the queue
SETTLED = 60.0  # a deadline for what must happen, never a measure of how fast

Rows = list[sa.RowMapping]


@asynccontextmanager
async def two_apps(settings: Settings) -> AsyncIterator[list[tuple[FastAPI, httpx.AsyncClient]]]:
    """Two apps on one database, as two server processes are: each runs a delivery worker."""
    async with AsyncExitStack() as stack:
        apps = []
        for _ in range(2):
            app = await stack.enter_async_context(started_app(settings))
            apps.append((app, await stack.enter_async_context(client_of(app))))
        yield apps


async def rows(database: SqlDatabase, table: str) -> Rows:
    return await asyncio.to_thread(database.rows, table)


async def settled(database: SqlDatabase, table: str, done: Callable[[Rows], bool]) -> Rows:
    """The table's rows once `done` holds for them (polled; a deadline, not a measure)."""
    async with asyncio.timeout(SETTLED):
        while True:
            found = await rows(database, table)
            if done(found):
                return found
            await asyncio.sleep(POLL)


async def execute(database: SqlDatabase, statement: sa.Executable) -> None:
    def run() -> None:
        with database.engine.begin() as connection:
            connection.execute(statement)

    await asyncio.to_thread(run)


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def register_directly(db: Any, services: Services, username: str) -> None:
    """The policy function every way of creating an account ends in (it emits user.created)."""
    await accounts.register(
        db,
        services.hasher,
        username=username,
        email=f"{username}@example.com",
        password=STRONG_PASSWORD,
        password_min_length=services.settings.password_min_length,
        client=NO_CLIENT,
    )


def webhook_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the workers logged as errors: a claim or record that failed for good."""
    return [
        record.getMessage()
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
        if record.name == "gql_auth.webhooks" and record.levelno >= logging.ERROR
    ]


class TestTwoWorkers:
    async def test_each_event_reaches_a_healthy_receiver_exactly_once(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Few slots per worker: many small claims, so the two workers race often.
        settings = make_settings(database.url, webhook_poll_seconds=POLL, webhook_concurrency=3)
        async with receiving() as receiver:
            async with two_apps(settings) as apps:
                clients = [client for _, client in apps]
                admin = await register_admin(clients[0], database)  # before the endpoint
                await create_endpoint(
                    clients[0],
                    admin["accessToken"],
                    receiver.url,
                    ["user.created"],
                    receiver=receiver,
                )

                # Each commit wakes its own app's worker; the other finds it by polling.
                payloads = await asyncio.gather(
                    *(register(clients[index % 2]) for index in range(EVENTS))
                )

                await receiver.wait_for(EVENTS, timeout=SETTLED)
                deliveries = await settled(
                    database,
                    "webhook_deliveries",
                    lambda found: (
                        len(found) == EVENTS and all(row["status"] != "PENDING" for row in found)
                    ),
                )
            # Both apps are closed: their workers have stopped, nothing more can arrive.
            received = list(receiver.received)

        ids = [got.id for got in received]
        assert len(ids) == EVENTS, Counter(ids).most_common(3)
        assert len(set(ids)) == EVENTS
        assert all(got.verified_by == receiver.secrets for got in received)
        assert {got.event["data"]["id"] for got in received} == {
            payload["user"]["id"] for payload in payloads
        }
        assert Counter((row["status"], row["attempt"]) for row in deliveries) == {
            ("SUCCEEDED", 1): EVENTS
        }
        assert {row["event_id"] for row in deliveries} == set(ids)
        assert all(row["claim"] is None for row in deliveries)
        assert webhook_errors(caplog) == []

    async def test_the_endpoint_cap_holds_across_two_apps(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = make_settings(database.url, webhook_max_endpoints=MAX_ENDPOINTS)
        async with two_apps(settings) as apps:
            clients = [client for _, client in apps]
            admin = await register_admin(clients[0], database)
            token = admin["accessToken"]
            for round_ in range(ROUNDS):
                urls = [f"{URL}/{round_}/{index}" for index in range(CREATIONS)]

                bodies = await asyncio.gather(
                    *(
                        call(
                            clients[index % 2],
                            CREATE_ENDPOINT,
                            {"input": {"url": url, "eventTypes": []}},
                            token=token,
                        )
                        for index, url in enumerate(urls)
                    )
                )

                assert Counter(outcome(body) for body in bodies) == {
                    "OK": MAX_ENDPOINTS,
                    "BAD_USER_INPUT/LIMIT_REACHED": CREATIONS - MAX_ENDPOINTS,
                }
                made = [body["data"]["createWebhookEndpoint"] for body in bodies if body["data"]]
                stored = await rows(database, "webhook_endpoints")
                assert {row["url"] for row in stored} == {item["endpoint"]["url"] for item in made}
                assert {row["slot"] for row in stored} == set(range(MAX_ENDPOINTS))
                # Free the places: the next round races for them again.
                for item in made:
                    deleted = await call(
                        clients[1], DELETE_ENDPOINT, {"id": item["endpoint"]["id"]}, token=token
                    )
                    assert deleted["data"] == {"deleteWebhookEndpoint": True}
        assert_no_conflict_retried(caplog)


class TestCrashes:
    async def test_a_claim_whose_worker_died_is_sent_again_once_its_lease_ends(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        timeout = 0.5
        settings = make_settings(
            database.url, webhook_timeout_seconds=timeout, webhook_poll_seconds=POLL
        )
        lease = timedelta(seconds=2 * timeout + 5)  # what the worker takes: about 6 s
        arrivals: list[Any] = []
        async with receiving(on_request=lambda _got: arrivals.append(utcnow())) as receiver:
            async with started_app(settings) as app, client_of(app) as client:
                admin = await register_admin(client, database)
                await create_endpoint(
                    client, admin["accessToken"], receiver.url, ["user.created"], receiver=receiver
                )
            # No worker runs now. A process that runs none (as a CLI command) commits an
            # account; a worker claims its attempt the way every worker does, then dies.
            services = build_services(settings)
            try:
                async with services.session_factory() as db, db.begin():
                    await register_directly(db, services, unique_username("crash"))
                before_claim = utcnow()
                async with services.session_factory() as db, db.begin():
                    claims = await queue.claim_due(db, limit=10, lease=lease)
            finally:
                await services.aclose()
            (claimed,) = claims
            assert claimed.message.event_type == "user.created"

            async with started_app(settings) as app, client_of(app):
                (got,) = await receiver.wait_for(1, timeout=SETTLED)
                (delivery,) = await settled(
                    database,
                    "webhook_deliveries",
                    lambda found: [row["status"] for row in found] == ["SUCCEEDED"],
                )
                # The dead worker's record, arriving late: its lease is over, nothing changes.
                async with services_of(app).session_factory() as db, db.begin():
                    kept = await queue.record(
                        db,
                        claimed,
                        Outcome(False, 503, "HTTP 503"),
                        retry_waits=(timedelta(0),),
                        disable_after=timedelta(0),
                    )
            received = list(receiver.received)

        assert got.id == claimed.message.event_id
        assert got.verified_by == receiver.secrets
        assert arrivals[0] >= before_claim + lease  # not before the lease ended
        assert len(received) == 1
        assert kept is False
        (after,) = await rows(database, "webhook_deliveries")
        assert after == delivery
        assert (after["status"], after["attempt"], after["response_status"]) == (
            "SUCCEEDED",
            1,
            204,
        )
        assert after["claim"] is None
        (endpoint,) = await rows(database, "webhook_endpoints")
        assert endpoint["enabled"] and endpoint["failing_since"] is None
        assert webhook_errors(caplog) == []

    async def test_a_rolled_back_change_sends_nothing(self, database: SqlDatabase) -> None:
        settings = make_settings(database.url, webhook_poll_seconds=POLL)
        undone, kept = unique_username("undone"), unique_username("kept")
        async with receiving() as receiver:
            async with started_app(settings) as app, client_of(app) as client:
                admin = await register_admin(client, database)
                # Every event type: anything the rolled-back transaction queued would come.
                await create_endpoint(client, admin["accessToken"], receiver.url, receiver=receiver)
                services = services_of(app)

                async with services.session_factory() as db:
                    await register_directly(db, services, undone)
                    assert outbox.emitted(db)
                    await db.rollback()
                async with services.session_factory() as db, db.begin():
                    await register_directly(db, services, kept)

                await receiver.wait_for(
                    1, timeout=SETTLED, where=lambda got: got.event["data"]["username"] == kept
                )
                await settled(
                    database,
                    "webhook_deliveries",
                    lambda found: bool(found) and all(row["status"] != "PENDING" for row in found),
                )
            received = list(receiver.received)

        assert [(got.type, got.event["data"]["username"]) for got in received] == [
            ("user.created", kept)
        ]
        events = await rows(database, "webhook_events")
        assert not [row for row in events if undone in row["data"]]
        assert [row for row in events if kept in row["data"]]
        (delivery,) = await rows(database, "webhook_deliveries")
        assert delivery["event_id"] == received[0].id

    async def test_a_rolled_back_registration_leaves_neither_account_nor_event(
        self, database: SqlDatabase
    ) -> None:
        # pysqlite/aiosqlite send no BEGIN before a SAVEPOINT: without core.database's
        # savepoint(), register's savepoint opened the transaction on SQLite and its
        # release committed the account on its own, while the event was rolled back.
        settings = make_settings(database.url)
        async with started_app(settings) as app:
            services = services_of(app)
            undone = unique_username("undone")
            async with services.session_factory() as db:
                await register_directly(db, services, undone)
                await db.rollback()

        assert [
            row for row in await rows(database, "webhook_events") if undone in row["data"]
        ] == []
        assert undone not in {row["username"] for row in await rows(database, "users")}


class TestPrune:
    async def test_prune_keeps_events_still_pending_or_recent(self, database: SqlDatabase) -> None:
        # One retry, an hour after a failed attempt: a failed first attempt stays PENDING.
        settings = make_settings(
            database.url, webhook_retry_schedule=["1h"], webhook_poll_seconds=POLL
        )
        retained = timedelta(days=settings.webhook_event_retention_days)
        deliveries = database.table("webhook_deliveries")
        events = database.table("webhook_events")
        async with receiving() as receiver:
            async with started_app(settings) as app, client_of(app) as client:
                # Its events have no subscriber yet: stored, nothing to deliver, all ended.
                admin = await register_admin(client, database)
                await create_endpoint(
                    client, admin["accessToken"], receiver.url, ["user.created"], receiver=receiver
                )

                async def event_answered(status: int) -> str:
                    """A registration whose first attempt the receiver answers with `status`."""
                    receiver.status = status
                    user = (await register(client))["user"]
                    (got,) = await receiver.wait_for(
                        1, timeout=SETTLED, where=lambda got: got.event["data"]["id"] == user["id"]
                    )
                    await settled(
                        database,
                        "webhook_deliveries",
                        lambda found: any(
                            row["event_id"] == got.id and row["status"] != "PENDING"
                            for row in found
                        ),
                    )
                    return got.id

                delivered_long_ago = await event_answered(204)
                delivered_lately = await event_answered(204)
                retry_pending = await event_answered(500)  # attempt 2 is due in an hour
                failed_for_good = await event_answered(500)
                # As if the hour had passed for this one: its last attempt fails too.
                await execute(
                    database,
                    sa.update(deliveries)
                    .where(
                        deliveries.c.event_id == failed_for_good, deliveries.c.status == "PENDING"
                    )
                    .values(due_at=utcnow()),
                )
                await settled(
                    database,
                    "webhook_deliveries",
                    lambda found: (
                        [
                            (row["attempt"], row["status"])
                            for row in found
                            if row["event_id"] == failed_for_good
                        ]
                        == [(1, "FAILED"), (2, "FAILED")]
                    ),
                )
                # Every event but one older than the retention.
                await execute(
                    database,
                    sa.update(events)
                    .where(events.c.id != delivered_lately)
                    .values(created_at=utcnow() - retained - timedelta(hours=1)),
                )
                before = {row["id"] for row in await rows(database, "webhook_events")}

                async with services_of(app).session_factory() as db, db.begin():
                    pruned = await retention.prune(
                        db, event_retention=timedelta(days=90), webhook_retention=retained
                    )

        assert {delivered_long_ago, failed_for_good} < before
        left = {row["id"] for row in await rows(database, "webhook_events")}
        assert left == {retry_pending, delivered_lately}
        assert pruned.webhook_events == len(before) - 2
        # The attempts of pruned events went with them; the others' are all there.
        assert sorted(
            (row["event_id"] == retry_pending, row["attempt"], row["status"])
            for row in await rows(database, "webhook_deliveries")
        ) == [(False, 1, "SUCCEEDED"), (True, 1, "FAILED"), (True, 2, "PENDING")]
