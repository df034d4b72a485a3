"""`gql-auth webhooks`, on every backend: each endpoint with its URL, whether it is enabled,
its event types, since when it fails, and its attempts counted PENDING / SUCCEEDED / FAILED,
as real deliveries to real receivers left them; never a signing secret."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from tests.support.cli import call_cli
from tests.support.helpers import (
    SqlDatabase,
    data_of,
    gql,
    make_settings,
    register,
    register_admin,
    running_app,
)
from tests.support.webhooks import UPDATE_ENDPOINT, create_endpoint, receiving

REGISTRATIONS = 2  # each sends user.created and session.created


def columns(line: str) -> dict[str, str]:
    """A row of the listing by column: ID ENABLED PENDING SUCCEEDED FAILED SINCE URL EVENTS."""
    id_, enabled, pending, succeeded, failed, since, url, events = line.split(maxsplit=7)
    return {
        "id": id_,
        "enabled": enabled,
        "counts": f"{pending}/{succeeded}/{failed}",
        "since": since,
        "url": url,
        "events": events,
    }


class TestWebhooksCommand:
    async def test_lists_each_endpoint_with_its_deliveries_by_status(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        # A failed attempt is retried in an hour: it leaves one FAILED and one PENDING.
        settings = make_settings(
            database.url, webhook_retry_schedule=["1h"], webhook_poll_seconds=0.05
        )
        async with (
            receiving() as healthy,
            receiving(status=500) as failing,
            running_app(settings) as client,
        ):
            admin = await register_admin(client, database)  # before any endpoint
            token = admin["accessToken"]
            delivered = await create_endpoint(
                client, token, healthy.url, ["user.created"], receiver=healthy
            )
            retrying = await create_endpoint(client, token, failing.url, receiver=failing)
            disabled = await create_endpoint(
                client, token, "https://hooks.example.com/off", ["user.deactivated", "member.added"]
            )
            update = {"id": disabled["endpoint"]["id"], "enabled": False}
            data_of(
                await gql(client, UPDATE_ENDPOINT, {"input": update}, token=token),
                "updateWebhookEndpoint",
            )
            for _ in range(REGISTRATIONS):
                await register(client)

            await healthy.wait_for(REGISTRATIONS, timeout=60)
            await failing.wait_for(2 * REGISTRATIONS, timeout=60)
            async with asyncio.timeout(60):  # until every first attempt is recorded
                while await asyncio.to_thread(_recorded, database) < 3 * REGISTRATIONS:
                    await asyncio.sleep(0.05)
        # The app is closed: nothing changes under the command.
        stored = {row["id"]: row for row in database.rows("webhook_endpoints")}

        result = call_cli("webhooks", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr
        header, *lines, total = result.stdout.strip().splitlines()
        assert header.split()[:6] == ["ID", "ENABLED", "PENDING", "SUCCEEDED", "FAILED", "FAILING"]
        assert total == "3 endpoint(s)"
        rows = [columns(line) for line in lines]
        ids = [int(item["endpoint"]["id"]) for item in (delivered, retrying, disabled)]
        assert [row["id"] for row in rows] == [str(id_) for id_ in ids]  # oldest first
        first, second, third = rows
        assert first == {
            "id": str(ids[0]),
            "enabled": "yes",
            "counts": f"0/{REGISTRATIONS}/0",
            "since": "-",
            "url": healthy.url,
            "events": "user.created",
        }
        failing_since = stored[ids[1]]["failing_since"]
        assert failing_since is not None
        assert second == {
            "id": str(ids[1]),
            "enabled": "yes",
            "counts": f"{2 * REGISTRATIONS}/0/{2 * REGISTRATIONS}",
            "since": failing_since.strftime("%Y-%m-%dT%H:%MZ"),
            "url": failing.url,
            "events": "all",
        }
        assert third == {
            "id": str(ids[2]),
            "enabled": "no",
            "counts": "0/0/0",
            "since": "-",
            "url": "https://hooks.example.com/off",
            "events": "member.added user.deactivated",
        }
        output = result.stdout + result.stderr
        for item in (delivered, retrying, disabled):  # neither the secret nor its sealed form
            assert item["secret"].removeprefix("whsec_") not in output
        for row in stored.values():
            assert row["secret"] not in output

    def test_no_endpoints_is_an_empty_list(self, database: SqlDatabase, tmp_path: Path) -> None:
        result = call_cli("webhooks", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith("0 endpoint(s)")


def _recorded(database: SqlDatabase) -> int:
    """First attempts no longer PENDING: delivered, or failed with a retry queued."""
    deliveries = database.table("webhook_deliveries")
    with database.engine.connect() as connection:
        return int(
            connection.scalar(
                sa.select(sa.func.count()).where(
                    deliveries.c.attempt == 1, deliveries.c.status != "PENDING"
                )
            )
            or 0
        )
