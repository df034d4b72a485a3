"""One log line per HTTP request, tied together by a request id (also sent as X-Request-ID).

The GraphQL edge adds what the operation was and how it ended (request_details);
the web edge writes the line (gql_auth.web.edge).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import Scope

logger = logging.getLogger("gql_auth.requests")


def request_details(scope: Scope) -> dict[str, Any]:
    """Where inner layers (the GraphQL edge) leave what the log line should say."""
    details: dict[str, Any] = scope.setdefault("state", {}).setdefault("log_details", {})
    return details


def log_request(scope: Scope, *, request_id: str, status: int, started: float) -> None:
    """The request's one log line (written by the edge middleware when the response is done).

    It never holds a token, password, query text or variables: only ids, the
    operation, the outcome code and the time taken.
    """
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
