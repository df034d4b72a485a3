"""The client's address: the socket peer, or X-Forwarded-For only through trusted proxies."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# A host provider hands every customer at least a /64: one IPv6 client is one /64.
IPV6_CLIENT_PREFIX = 64
# "[v6]", "[v6]:port" or "v4:port" (one colon only: a bare IPv6 address has several).
_HOP_WITH_PORT = re.compile(r"\[(?P<v6>[^\]]+)\](?::[0-9]{1,5})?|(?P<v4>[^:\[\]]+):[0-9]{1,5}")


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """Walks X-Forwarded-For from the right, past trusted hops only.

    `forwarded_for` is every X-Forwarded-For header line in the order received:
    a proxy may add a line of its own rather than append to the client's, and
    repeated lines are one comma-separated list (RFC 9110 §5.3). Anyone can
    send the header, so it is believed only when our own peer is a trusted
    proxy, and only up to the first hop that is not one.
    """
    if peer is None or not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [_without_port(hop.strip()) for line in forwarded_for for hop in line.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return _valid_or_none(hop) or peer
    return _valid_or_none(hops[0]) if hops else peer


def _without_port(hop: str) -> str:
    """The address of a hop as load balancers write it: 203.0.113.7:5555, [2001:db8::1]:443.

    A bare IPv6 address has colons but no port, and is left as it is.
    """
    match = _HOP_WITH_PORT.fullmatch(hop)
    return (match["v6"] or match["v4"]) if match else hop


def _valid_or_none(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def address_key(address: str | None) -> str:
    """What per-address limits count on: an IPv4 address, an IPv6 /64, or one shared bucket.

    An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 client. Anything
    that is not an address (a test client's name, a missing peer) is used as is.
    """
    if address is None:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return str(parsed)
