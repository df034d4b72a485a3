"""A real webhook receiver for the suite, and the webhook operations as clients send them.

The receiver is an HTTP server on a real socket (uvicorn, in the test's event
loop) that checks every delivery with the `standardwebhooks` library, as a
receiver written by a user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.helpers import data_of, gql
from tests.support.servers import free_port

ENDPOINT_FIELDS = "id url eventTypes enabled createdAt failingSince"
DELIVERY_FIELDS = "id eventId eventType attempt status responseStatus error at"
CREATE_ENDPOINT = f"""
mutation Create($input: CreateWebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{ secret endpoint {{ {ENDPOINT_FIELDS} }} }}
}}"""
UPDATE_ENDPOINT = f"""
mutation Update($input: UpdateWebhookEndpointInput!) {{
  updateWebhookEndpoint(input: $input) {{ {ENDPOINT_FIELDS} }}
}}"""
DELETE_ENDPOINT = "mutation Delete($id: ID!) { deleteWebhookEndpoint(id: $id) }"
ROTATE_SECRET = f"""
mutation Rotate($id: ID!) {{
  rotateWebhookSecret(id: $id) {{ secret endpoint {{ {ENDPOINT_FIELDS} }} }}
}}"""
REDELIVER = "mutation Redeliver($eventId: String!) { redeliverWebhookEvent(eventId: $eventId) }"
ENDPOINTS = f"""
query Endpoints($first: Int! = 50) {{
  webhookEndpoints {{ {ENDPOINT_FIELDS} deliveries(first: $first) {{ {DELIVERY_FIELDS} }} }}
}}"""
EVENT_TYPES = "query { webhookEventTypes }"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified_by: list[str]  # the receiver's secrets whose signature matched

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def type(self) -> str:
        return str(self.event["type"])


@dataclass
class Receiver:
    """Answers each delivery with the next of `answers` (then `status`), after `delay` s;
    `on_request` is called with each delivery as it arrives, before any answer."""

    port: int
    secrets: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0
    location: str | None = None  # sent with a 3xx answer
    on_request: Callable[[Received], None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        got = Received(headers, body, [s for s in self.secrets if _verifies(s, body, headers)])
        self.received.append(got)
        if self.on_request is not None:
            self.on_request(got)
        self._arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answers.pop(0) if self.answers else self.status
        extra = [(b"location", self.location.encode())] if self.location else []
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": b"" if status in (204, 304) else b"ok"})

    async def wait_for(
        self, count: int, *, timeout: float = 15.0, where: Callable[[Received], bool] = bool
    ) -> list[Received]:
        """At least `count` deliveries matching `where`, or fail after `timeout` s."""
        async with asyncio.timeout(timeout):
            while len(matching := [got for got in self.received if where(got)]) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return matching

    def of_type(self, event_type: str) -> list[Received]:
        return [got for got in self.received if got.type == event_type]


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@contextlib.asynccontextmanager
async def receiving(**options: Any) -> AsyncIterator[Receiver]:
    """A receiver listening on 127.0.0.1 for as long as the block runs."""
    receiver = Receiver(port=free_port(), **options)
    config = uvicorn.Config(
        receiver, host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


async def create_endpoint(
    client: httpx.AsyncClient,
    token: str,
    url: str,
    event_types: list[str] | None = None,
    *,
    receiver: Receiver | None = None,
) -> dict[str, Any]:
    """createWebhookEndpoint; the receiver (if given) learns the secret."""
    created: dict[str, Any] = data_of(
        await gql(
            client,
            CREATE_ENDPOINT,
            {"input": {"url": url, "eventTypes": event_types or []}},
            token=token,
        ),
        "createWebhookEndpoint",
    )
    if receiver is not None:
        receiver.secrets.append(created["secret"])
    return created


async def endpoints(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = data_of(
        await gql(client, ENDPOINTS, token=token), "webhookEndpoints"
    )
    return listed


async def wait_for_endpoints(
    client: httpx.AsyncClient,
    token: str,
    done: Callable[[list[dict[str, Any]]], bool],
    *,
    timeout: float = 15.0,
) -> list[dict[str, Any]]:
    """Polls webhookEndpoints until `done` holds."""
    async with asyncio.timeout(timeout):
        while not done(listed := await endpoints(client, token)):
            await asyncio.sleep(0.05)
    return listed


async def wait_for_deliveries(
    client: httpx.AsyncClient,
    token: str,
    done: Callable[[list[dict[str, Any]]], bool],
    *,
    timeout: float = 15.0,
) -> list[dict[str, Any]]:
    """Polls the first endpoint's deliveries (newest first) until `done` holds."""
    listed = await wait_for_endpoints(
        client, token, lambda found: done(found[0]["deliveries"]), timeout=timeout
    )
    deliveries: list[dict[str, Any]] = listed[0]["deliveries"]
    return deliveries
