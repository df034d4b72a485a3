"""Where an endpoint may point: a well-formed URL, and (in production) public addresses only.

The address check runs at creation and again at every delivery, after DNS,
on every address the name resolves to; the delivery then connects to the
address that was checked, so a name that resolves elsewhere a moment later
(DNS rebinding) gains nothing. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL is refused; `reason` is the stable word the API answers with."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Target:
    """An endpoint URL taken apart: what to resolve, and what to send."""

    url: str
    scheme: str
    host: str  # a name, or an address without brackets
    port: int
    path: str  # with the query, as sent


def parse(url: str, *, allow_private: bool) -> Target:
    """A URL a webhook may be sent to: http(s), a host, no credentials or fragment."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl("TOO_LONG", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if url != url.strip() or any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise UnsafeUrl("INVALID", "The URL holds spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("INVALID", "The URL is not well formed.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeUrl("INVALID", "The URL must be http(s)://host/path.")
    if parts.scheme != "https" and not allow_private:
        raise UnsafeUrl("NOT_HTTPS", "Webhook URLs must use https.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("INVALID", "The URL must not hold a user name or password.")
    if parts.fragment:
        raise UnsafeUrl("INVALID", "The URL must not have a #fragment.")
    path = parts.path or "/"
    return Target(
        url=url,
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or (443 if parts.scheme == "https" else 80),
        path=f"{path}?{parts.query}" if parts.query else path,
    )


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, including what an IPv6 address embeds."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


async def resolve(target: Target, *, allow_private: bool) -> IPAddress:
    """The address to connect to; UnsafeUrl when any address of the name is not public."""
    try:
        literal = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                target.host, target.port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            raise UnsafeUrl("UNRESOLVABLE", "The URL's host name does not resolve.") from None
        # One entry per address: the scope of a link-local IPv6 address is dropped, and
        # such an address is never public anyway.
        addresses = [ipaddress.ip_address(str(entry[4][0]).split("%")[0]) for entry in found]
    if not addresses:
        raise UnsafeUrl("UNRESOLVABLE", "The URL's host name does not resolve.")
    if not allow_private and not all(is_public(address) for address in addresses):
        # Any private answer refuses the name: picking the public one would invite rebinding.
        raise UnsafeUrl("PRIVATE_ADDRESS", "The URL resolves to a non-public address.")
    return addresses[0]
