"""Transport rules in front of /graphql: JSON only, bounded bodies, one JSON object.

What the guard learnt is handed on in the ASGI scope's state: the parsed
body (so the view does not decode the JSON a second time) and the media
type the answer is to use.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_auth.graphql.engine.errors import refusal_body
from gql_auth.security import json_input
from gql_auth.web.negotiation import GRAPHQL_RESPONSE, JSON, content_type, negotiate
from gql_auth.web.responses import send_body

# Keys of scope["state"] the guard fills for the view.
BODY_KEY = "graphql_body"
MEDIA_TYPE_KEY = "graphql_media_type"

# The answer to bytes that are not UTF-8 and to lone surrogates, escaped or raw.
_INVALID_UNICODE = ("INVALID_UNICODE", "The request contains text that is not valid Unicode.")
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
        answer_as = negotiate(_header(scope, b"accept"))
        if answer_as is None:
            message = f"POST /graphql answers {GRAPHQL_RESPONSE} or {JSON}."
            await refuse(send, 406, "NOT_ACCEPTABLE", message, media_type=JSON)
            return
        if _media_type(scope) not in _EXECUTABLE_MEDIA_TYPES:
            message = "POST /graphql takes application/json."
            await refuse(send, 415, "UNSUPPORTED_MEDIA_TYPE", message, media_type=answer_as)
            return
        body = await self._read_body(scope, receive)
        if body is None:
            message = f"Request bodies are limited to {self.max_body_bytes} bytes."
            await refuse(send, 413, "PAYLOAD_TOO_LARGE", message, media_type=answer_as)
            return
        parsed = _json_object(body)
        if isinstance(parsed, tuple):
            await refuse(send, 400, *parsed, media_type=answer_as)
            return
        state = scope.setdefault("state", {})
        state[BODY_KEY] = parsed
        state[MEDIA_TYPE_KEY] = answer_as
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


def parsed_body(scope: Scope) -> dict[str, Any] | None:
    """The JSON object the guard decoded, or None when it did not (not a POST)."""
    body: dict[str, Any] | None = scope.get("state", {}).get(BODY_KEY)
    return body


def answer_media_type(scope: Scope) -> str:
    """The media type the guard negotiated for this request (application/json if none)."""
    media_type: str = scope.get("state", {}).get(MEDIA_TYPE_KEY, JSON)
    return media_type


def _json_object(body: bytes) -> dict[str, Any] | tuple[str, str]:
    """The body as one JSON object, or why it must not reach GraphQL, as (reason, message).

    Strawberry answers some malformed bodies with a 500 (JSON `null`, a bare
    string, bytes that are not UTF-8, nesting that exhausts the recursion
    limit: bounded here far lower, before parsing), and lone surrogates decode
    into strings that no database driver or password hasher can encode. One
    small parse here, after the size cap, refuses all of them alike.
    """
    try:
        # Strictly UTF-8 (RFC 8259 §8.1): json.loads(bytes) would guess UTF-16/32 and
        # let raw surrogates (ED A0 80) through. A leading BOM is ignored, as the RFC allows.
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return _INVALID_UNICODE
    try:
        parsed = json_input.loads(text)
        if "\\u" in text:  # decoded strictly, surrogates can only arrive escaped
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except json_input.TooDeep:
        return "TOO_DEEP", f"The request body is nested deeper than {json_input.MAX_DEPTH} levels."
    except UnicodeEncodeError:
        return _INVALID_UNICODE
    except ValueError:
        return "INVALID_JSON", "The request body is not valid JSON."
    if not isinstance(parsed, dict):
        # Arrays too: batching would multiply every per-request limit.
        return "INVALID_JSON", "The request body must be one JSON object: {query, variables}."
    return parsed


def _media_type(scope: Scope) -> str:
    raw: bytes = dict(scope["headers"]).get(b"content-type", b"")
    return raw.decode("latin-1").split(";", 1)[0].strip().lower()


def _header(scope: Scope, name: bytes) -> str | None:
    """All values of a header, joined as RFC 9110 allows; None when absent."""
    values = [value for key, value in scope["headers"] if key == name]
    return b",".join(values).decode("latin-1") if values else None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def refuse(
    send: Send, status: int, reason: str, message: str, *, media_type: str = JSON
) -> None:
    """Answers in the contract's error shape, so clients need one error parser.

    No `data` entry: nothing ran, which is how application/graphql-response+json
    says a request error (GraphQL over HTTP).
    """
    await send_body(send, status, content_type(media_type), refusal_body(message, reason=reason))
