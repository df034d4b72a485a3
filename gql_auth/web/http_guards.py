"""Transport rules in front of /graphql: JSON only, bounded bodies, one JSON object."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_auth.graphql.errors import refusal_body

# Media types a browser cannot send cross-site without a CORS preflight.
_EXECUTABLE_MEDIA_TYPES = frozenset({"application/json", "application/graphql-response+json"})


class RequestGuard:
    """Wraps the GraphQL endpoint, so the body cap holds before anything parses a byte of JSON.

    text/plain, form and multipart posts are what a hostile page can make a
    browser send without asking: refused with 415, so they can never run a
    mutation with the victim's credentials.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if _media_type(scope) not in _EXECUTABLE_MEDIA_TYPES:
            await _refuse(
                send, 415, "UNSUPPORTED_MEDIA_TYPE", "POST /graphql takes application/json."
            )
            return
        body = await self._read_body(scope, receive)
        if body is None:
            await _refuse(
                send,
                413,
                "PAYLOAD_TOO_LARGE",
                f"Request bodies are limited to {self.max_body_bytes} bytes.",
            )
            return
        problem = _unusable_json(body)
        if problem is not None:
            await _refuse(send, 400, *problem)
            return
        await self.app(scope, _replay(body), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is known to be too large."""
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _unusable_json(body: bytes) -> tuple[str, str] | None:
    """Why this body must not reach GraphQL, as (reason, message), or None.

    Strawberry answers some malformed bodies with a 500 (JSON `null`, a bare
    string, bytes that are not UTF-8, nesting that exhausts the recursion
    limit), and lone surrogate escapes such as "\\ud800" decode into strings
    that no database driver or password hasher can encode. One small parse
    here, after the size cap, refuses all of them alike.
    """
    try:
        parsed = json.loads(body)
        if b"\\u" in body:  # surrogates can only arrive escaped
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        return "TOO_DEEP", "The request body is nested too deeply."
    except UnicodeEncodeError:
        return "INVALID_UNICODE", "The request contains text that is not valid Unicode."
    except ValueError:
        return "INVALID_JSON", "The request body is not valid JSON."
    if not isinstance(parsed, dict):
        # Arrays too: batching would multiply every per-request limit.
        return "INVALID_JSON", "The request body must be one JSON object: {query, variables}."
    return None


def _media_type(scope: Scope) -> str:
    raw: bytes = dict(scope["headers"]).get(b"content-type", b"")
    return raw.decode("latin-1").split(";", 1)[0].strip().lower()


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(send: Send, status: int, reason: str, message: str) -> None:
    """Answers in the contract's error shape, so clients need one error parser."""
    body = refusal_body(message, reason=reason)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
