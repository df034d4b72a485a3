"""One whole response in two ASGI messages, for the answers the edge layers write themselves."""

from __future__ import annotations

from starlette.types import Send


async def send_body(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
