"""One delivery attempt over HTTP: resolve and check the address, sign, POST, read the status.

Every attempt is bounded as a whole (WEBHOOK_TIMEOUT_SECONDS from resolving the
name to the last byte read), reads at most a small part of the answer, never
follows a redirect, and connects to the address it checked.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime

import httpx2

from gql_auth.core.models import utcnow
from gql_auth.webhooks import addresses
from gql_auth.webhooks.addresses import UnsafeUrl
from gql_auth.webhooks.signing import signature_header

USER_AGENT = "gql-auth-webhooks/1"
_MAX_ANSWER_BYTES = 64 * 1024  # an answer is read only to free the connection


@dataclass(frozen=True, slots=True)
class Message:
    event_id: str
    event_type: str
    occurred_at: datetime
    data: str  # JSON


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    response_status: int | None
    error: str | None  # for the delivery's row and the log; never a secret


def body_of(message: Message) -> bytes:
    """The Standard Webhooks body: the same bytes on every attempt."""
    occurred = message.occurred_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(
        {"type": message.event_type, "timestamp": occurred, "data": json.loads(message.data)},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def new_client(*, concurrency: int, timeout: float) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(timeout),
        # No keep-alive: connections are made to checked addresses, and one kept open
        # under one name's TLS session must never carry another name's delivery.
        limits=httpx2.Limits(max_connections=concurrency, max_keepalive_connections=0),
        follow_redirects=False,
        trust_env=False,  # no proxy or .netrc from the environment
    )


async def attempt(
    client: httpx2.AsyncClient,
    *,
    url: str,
    secrets: list[str],
    message: Message,
    allow_private: bool,
    timeout: float,
) -> Outcome:
    try:
        async with asyncio.timeout(timeout):
            return await _send(client, url, secrets, message, allow_private=allow_private)
    except TimeoutError:
        return Outcome(False, None, "timed out")
    except UnsafeUrl as refused:
        return Outcome(False, None, f"refused: {refused}")
    except httpx2.HTTPError as failure:
        return Outcome(False, None, _describe(failure))


async def _send(
    client: httpx2.AsyncClient,
    url: str,
    secrets: list[str],
    message: Message,
    *,
    allow_private: bool,
) -> Outcome:
    target = addresses.parse(url, allow_private=allow_private)
    address = await addresses.resolve(target, allow_private=allow_private)
    body = body_of(message)
    host = f"[{address}]" if address.version == 6 else str(address)
    default_port = 443 if target.scheme == "https" else 80
    signed_at = utcnow()
    headers = {
        "host": target.host if target.port == default_port else f"{target.host}:{target.port}",
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message.event_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": signature_header(
            secrets, event_id=message.event_id, at=signed_at, body=body
        ),
    }
    request = client.build_request(
        "POST",
        f"{target.scheme}://{host}:{target.port}{target.path}",
        content=body,
        headers=headers,
        # TLS names and verifies the host of the URL, not the address it resolved to.
        extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
    )
    response = await client.send(request, stream=True)
    try:
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read >= _MAX_ANSWER_BYTES:
                break
    finally:
        await response.aclose()
    status = response.status_code
    return Outcome(200 <= status < 300, status, None if 200 <= status < 300 else f"HTTP {status}")


def _describe(failure: httpx2.HTTPError) -> str:
    # The exception's class says what went wrong; its text may quote the URL's query.
    return f"{type(failure).__name__}"
