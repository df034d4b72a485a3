"""Who is asking: the client address and user agent recorded on sessions and events."""

from __future__ import annotations

from dataclasses import dataclass

from gql_auth.core.client_address import address_key

USER_AGENT_MAX = 512


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from, as recorded on sessions and events."""

    ip_address: str | None = None
    user_agent: str | None = None

    def __post_init__(self) -> None:
        # Clipped once here to the column width, so no writer has to remember.
        if self.user_agent is not None:
            object.__setattr__(self, "user_agent", self.user_agent[:USER_AGENT_MAX] or None)

    @property
    def address_key(self) -> str:
        """The key for per-address rate limits: IPv6 per /64; requests without a peer share one."""
        return address_key(self.ip_address)


NO_CLIENT = ClientInfo()
