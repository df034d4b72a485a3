"""The client's address over HTTP: X-Forwarded-For with ports through the app, and per-/64
IPv6 limits. A real server reading raw header lines is in tests/system/test_client_address.py;
the parsing itself is specified in tests/unit/test_client_address.py."""

from __future__ import annotations

from typing import Any

from tests.support.client_address import session_address
from tests.support.helpers import (
    LOGIN,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    one_app_with_peers,
    register,
    running_app,
)


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
