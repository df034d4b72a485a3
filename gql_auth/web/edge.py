"""The one middleware every request passes: request id, security headers, the log line.

Pure ASGI and outermost (create_app's app calls it before FastAPI's own
stack), and /graphql goes from here straight to its endpoint (the transport
guard, then the operation endpoint): FastAPI's error and telemetry
middleware, exit stack, router and route matching cost about as much per
request as the whole `me` resolver, and /graphql needs none of them
(docs/performance.md). Every other path takes the FastAPI app as before.
A failure nothing else answered is logged here with the request id, and the
client gets a 500 in the contract's error shape with only that id.
"""

from __future__ import annotations

import logging
import os
import random
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_auth.graphql.engine.errors import internal_error_body
from gql_auth.observability.request_log import log_request
from gql_auth.web.responses import send_body

logger = logging.getLogger("gql_auth")

REQUEST_ID_HEADER = b"x-request-id"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_NO_STORE = (b"cache-control", b"no-store")

# Request ids must be unique, not secret (each client sees its own). uuid4()
# reads os.urandom, a system call that lets go of the GIL, and with reader
# threads busy every request then waited to get it back (docs/performance.md):
# a generator seeded from os.urandom once per process, and again in a forked
# child, gives 128 random bits without one.
_ids = random.Random()  # noqa: S311 - uniqueness, not secrecy
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    return f"{_ids.getrandbits(128):032x}"


class Edge:
    def __init__(self, app: ASGIApp, *, graphql: ASGIApp, graphql_path: str = "/graphql") -> None:
        self.app = app
        self.graphql = graphql
        self.graphql_path = graphql_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Generated, never taken from the client: logs must not be forgeable.
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        path = scope["path"]
        extra = [*_ALWAYS, (REQUEST_ID_HEADER, request_id.encode())]
        if path.rstrip("/") == self.graphql_path:
            extra.append(_NO_STORE)  # "/graphql/" too: its redirect must not be cached either
        status: int | None = None

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            target = self.graphql if path == self.graphql_path else self.app
            await target(scope, receive, send_with_headers)
        except Exception:  # answered (if it can still be) and logged here, not by the server
            logger.exception("request %s: unexpected failure", request_id)
            if status is None:
                body = internal_error_body(request_id)
                await send_body(send_with_headers, 500, b"application/json", body)
        finally:
            log_request(scope, request_id=request_id, status=status or 500, started=started)
