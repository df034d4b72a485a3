"""The client's address: every X-Forwarded-For line as a proxy sends them, and the key that
per-address limits count on (IPv4 per address, IPv6 per /64)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_auth.client_address import address_key, client_address, parse_networks
from tests.helpers import (
    LOGIN,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    register,
    register_input,
    running_app_with_peer,
)
from tests.peers import one_app_with_peers
from tests.servers import GQL_AUTH, ServerProcess, server_environment

REGISTER_TOKEN = "mutation R($input: RegisterInput!) { register(input: $input) { accessToken } }"
SESSIONS = "{ userDashboard { activeSessions { ipAddress } } }"
PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.1"])


class TestForwardedForLines:
    def test_a_second_line_added_by_the_proxy_wins_over_what_the_client_wrote(self) -> None:
        lines = ["6.6.6.6", "198.51.100.7"]  # the client's own line, then the proxy's

        assert client_address("10.0.0.5", lines, PROXIES) == "198.51.100.7"

    def test_lines_are_joined_in_order_before_walking_back_past_trusted_hops(self) -> None:
        lines = ["6.6.6.6, 198.51.100.7", "10.1.1.1", "10.2.2.2, 10.3.3.3"]

        assert client_address("10.0.0.5", lines, PROXIES) == "198.51.100.7"

    def test_one_line_is_read_as_before(self) -> None:
        assert client_address("10.0.0.5", ["198.51.100.9, 203.0.113.7"], PROXIES) == ("203.0.113.7")

    def test_no_line_or_empty_lines_leave_the_peer(self) -> None:
        assert client_address("10.0.0.5", [], PROXIES) == "10.0.0.5"
        assert client_address("10.0.0.5", ["", " , "], PROXIES) == "10.0.0.5"

    def test_lines_from_an_untrusted_peer_are_ignored(self) -> None:
        assert client_address("192.0.2.44", ["10.1.1.1", "198.51.100.7"], PROXIES) == ("192.0.2.44")

    def test_a_malformed_hop_in_a_later_line_falls_back_to_the_peer(self) -> None:
        assert client_address("10.0.0.5", ["198.51.100.7", "<script>"], PROXIES) == "10.0.0.5"


class TestAddressKey:
    @pytest.mark.parametrize(
        ("address", "key"),
        [
            ("192.0.2.1", "192.0.2.1"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
            ("2001:DB8:1:2::ffff", "2001:db8:1:2::/64"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("::1", "::/64"),
            (None, "unknown"),
            ("testclient", "testclient"),
        ],
    )
    def test_the_key_of(self, address: str | None, key: str) -> None:
        assert address_key(address) == key

    def test_two_addresses_in_one_slash_64_share_a_key(self) -> None:
        assert address_key("2001:db8:0:7::1") == address_key("2001:db8:0:7:ffff:ffff:ffff:ffff")

    def test_neighbouring_slash_64s_do_not(self) -> None:
        assert address_key("2001:db8:0:7::1") != address_key("2001:db8:0:8::1")

    def test_ipv4_addresses_are_counted_one_by_one(self) -> None:
        assert address_key("192.0.2.1") != address_key("192.0.2.2")


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
        async with running_app_with_peer(settings, ("10.0.0.5", 1234)) as client:
            address = await session_address(client, lines)

        assert address == "198.51.100.7"

    async def test_through_a_real_server_two_header_lines_stay_two(self, tmp_path: Path) -> None:
        """uvicorn over a socket, as a proxy that adds its own line would speak to it."""
        env = server_environment(f"sqlite:///{tmp_path / 'db.sqlite'}", TRUSTED_PROXIES="127.0.0.1")
        subprocess.run(
            [str(GQL_AUTH), "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True
        )
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
