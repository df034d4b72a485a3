"""The client's address over HTTP: X-Forwarded-For lines through the app and a real
server, and per-/64 IPv6 limits. The parsing itself is specified in
tests/unit/test_client_address.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import (
    LOGIN,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    one_app_with_peers,
    register,
    register_input,
    running_app,
)
from tests.servers import ServerProcess, migrate, server_environment

REGISTER_TOKEN = "mutation R($input: RegisterInput!) { register(input: $input) { accessToken } }"
SESSIONS = "{ userDashboard { activeSessions { ipAddress } } }"


async def session_address(client: httpx.AsyncClient, headers: list[tuple[str, str]]) -> str:
    """Registers with these raw header lines and returns the address its session recorded."""
    response = await client.post(
        "/graphql",
        json={"query": REGISTER_TOKEN, "variables": {"input": register_input()}},
        headers=headers,
    )
    token = data_of(response.json(), "register")["accessToken"]
    sessions = await gql(client, SESSIONS, token=token)
    (session,) = data_of(sessions, "userDashboard")["activeSessions"]
    return str(session["ipAddress"])


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


class TestForwardedForWithPorts:
    async def test_two_clients_behind_one_proxy_sent_with_ports_have_separate_login_budgets(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(
            database.url, trusted_proxies="10.0.0.0/8", rate_limit_login_ip="3/15minutes"
        )
        # As a load balancer and an inner proxy write them: host:port, a second line, spaces.
        client_a = [
            ("X-Forwarded-For", "198.51.100.99, 203.0.113.7:5555"),
            ("X-Forwarded-For", "10.1.1.1:8080"),
        ]
        client_b = [("X-Forwarded-For", " [2001:db8::1]:443 ,10.1.1.1:8080 ")]
        async with running_app(settings, ("10.0.0.5", 4321)) as proxy:

            async def login_from(headers: list[tuple[str, str]], name: str) -> dict[str, Any]:
                variables = {"input": {"username": name, "password": "wrong"}}
                body = {"query": LOGIN, "variables": variables}
                response = await proxy.post("/graphql", json=body, headers=headers)
                answer: dict[str, Any] = response.json()
                return answer

            for index in range(3):
                failed = await login_from(client_a, f"nobody-{index}")
                assert_error(failed, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
            limited = await login_from(client_a, "nobody-3")
            other_client = await login_from(client_b, "nobody-4")

        assert_error(limited, "RATE_LIMITED")
        assert_error(other_client, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_the_session_records_the_client_without_its_port(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, trusted_proxies="10.0.0.0/8")
        lines = [("X-Forwarded-For", "[2001:db8::1]:443, 10.1.1.1:8080")]
        async with running_app(settings, ("10.0.0.5", 1234)) as client:
            address = await session_address(client, lines)

        assert address == "2001:db8::1"


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


class TestIpv6LimitsPerSlash64:
    async def test_two_addresses_in_one_slash_64_share_the_login_ip_budget(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_login_ip="3/15minutes")
        async with one_app_with_peers(
            settings, "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"
        ) as (first, neighbour, next_network):
            await register(next_network, "v6owner")
            for index in range(3):
                body = await gql(
                    first, LOGIN, {"input": {"username": f"v6-{index}", "password": "x"}}
                )
                assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

            refused = await gql(
                neighbour, LOGIN, {"input": {"username": "v6owner", "password": STRONG_PASSWORD}}
            )
            allowed = await gql(
                next_network,
                LOGIN,
                {"input": {"username": "v6owner", "password": STRONG_PASSWORD}},
            )

        error = assert_error(refused, "RATE_LIMITED")
        assert isinstance(error["extensions"]["retryAfter"], int)
        assert data_of(allowed, "login")
