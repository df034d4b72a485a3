"""The client's address through a real `gql-auth serve`: raw X-Forwarded-For header lines as
proxies send them (tests/api/test_client_address.py covers the rest in-process)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.client_address import REGISTER_TOKEN, SESSIONS, session_address
from tests.support.helpers import (
    SqlDatabase,
    data_of,
    gql,
    make_settings,
    register_input,
    running_app,
)
from tests.support.servers import ServerProcess, migrate, server_environment


class TestForwardedForOverHttp:
    async def test_a_proxys_own_header_line_is_read_not_only_the_clients(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, trusted_proxies="10.0.0.0/8")
        lines = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "198.51.100.7")]
        async with running_app(settings, ("10.0.0.5", 1234)) as client:
            address = await session_address(client, lines)

        assert address == "198.51.100.7"

    async def test_through_a_real_server_two_header_lines_stay_two(self, tmp_path: Path) -> None:
        """uvicorn over a socket, as a proxy that adds its own line would speak to it."""
        env = server_environment(f"sqlite:///{tmp_path / 'db.sqlite'}", TRUSTED_PROXIES="127.0.0.1")
        migrate(env, tmp_path)
        server = ServerProcess(env, tmp_path)
        try:
            await asyncio.to_thread(server.wait_until_healthy)
            body = json.dumps({"query": REGISTER_TOKEN, "variables": {"input": register_input()}})
            answer = await raw_post(
                server.port,
                body,
                ["X-Forwarded-For: 6.6.6.6", "X-Forwarded-For: 198.51.100.7"],
            )
            token = data_of(answer, "register")["accessToken"]
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
                sessions = await gql(client, SESSIONS, token=token)
        finally:
            server.stop()

        (session,) = data_of(sessions, "userDashboard")["activeSessions"]
        assert session["ipAddress"] == "198.51.100.7"


async def raw_post(port: int, body: str, extra_lines: list[str]) -> dict[str, Any]:
    """POST /graphql written byte by byte, so nothing merges the repeated header lines."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = body.encode()
    head = [
        "POST /graphql HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *extra_lines,
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    status, _, rest = response.partition(b"\r\n")
    assert b" 200 " in status, response
    _, _, content = rest.partition(b"\r\n\r\n")
    parsed: dict[str, Any] = json.loads(content)
    return parsed
