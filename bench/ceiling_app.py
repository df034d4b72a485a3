"""`ceiling`: a bare ASGI app answering a small JSON, the limit of uvicorn on this machine."""

from __future__ import annotations

from typing import Any

BODY = b'{"data":{"me":{"id":"1","username":"bench","role":"USER"}}}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
