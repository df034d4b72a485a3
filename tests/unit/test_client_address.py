"""The client's address: every X-Forwarded-For line as a proxy sends them, and the key that
per-address limits count on (IPv4 per address, IPv6 per /64)."""

from __future__ import annotations

import pytest

from gql_auth.core.client_address import address_key, client_address, parse_networks

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


class TestHopsWithPorts:
    @pytest.mark.parametrize(
        ("hop", "client"),
        [
            ("203.0.113.7:5555", "203.0.113.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8::443", "2001:db8::443"),
            ("::1", "::1"),
            ("[2001:DB8::A]:8443", "2001:db8::a"),
        ],
    )
    def test_the_client_behind_one_proxy_is(self, hop: str, client: str) -> None:
        assert client_address("10.0.0.5", [hop], PROXIES) == client

    def test_trusted_hops_with_ports_are_walked_past(self) -> None:
        lines = ["6.6.6.6:1, 203.0.113.7:5555", "10.1.1.1:8080 ,  [10.2.2.2]:80"]

        assert client_address("10.0.0.5", lines, PROXIES) == "203.0.113.7"

    @pytest.mark.parametrize(
        "hop",
        ["203.0.113.7:", "203.0.113.7:port", "203.0.113.7:123456", "[2001:db8::1]:", "[]:80"],
    )
    def test_a_hop_whose_port_is_not_a_port_falls_back_to_the_peer(self, hop: str) -> None:
        assert client_address("10.0.0.5", [hop], PROXIES) == "10.0.0.5"

    def test_two_clients_with_ports_are_two_keys(self) -> None:
        first = client_address("10.0.0.5", ["203.0.113.7:5555"], PROXIES)
        second = client_address("10.0.0.5", ["[2001:db8::1]:443"], PROXIES)

        assert address_key(first) != address_key(second) != address_key("10.0.0.5")


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
