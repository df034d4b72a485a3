"""One log line per HTTP request, tied together by a request id (also sent as X-Request-ID)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
logger = logging.getLogger("gql_auth.requests")


def request_details(scope: Scope) -> dict[str, Any]:
    """Where inner layers (the GraphQL edge) leave what the log line should say."""
    details: dict[str, Any] = scope.setdefault("state", {}).setdefault("log_details", {})
    return details


class RequestLogMiddleware:
    """Plain ASGI (no BaseHTTPMiddleware): one uuid, one header and one log line per request.

    The line never holds a token, password, query text or variables: only
    ids, the operation, the outcome code and the time taken.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Generated, never taken from the client: logs must not be forgeable.
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logger.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    **request_details(scope),
                },
            )
