"""A request made with an API key: the format offline, the key's limit, then the one read.

A key whose checksum is wrong never reaches the database. A well-formed one
takes its place under RATE_LIMIT_API_KEY first (reserved, so parallel
requests count), then the one indexed read of the key and its owner. A key
nobody holds is a guess: it counts as a failure of the client's address
(RATE_LIMIT_LOGIN_IP), like a wrong password.
"""

from __future__ import annotations

from gql_auth.api_keys.format import is_well_formed
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import TokenInvalid
from gql_auth.limits.limiter import RateLimits, Rule
from gql_auth.security.tokens import hash_token
from gql_auth.sessions.sessions import Viewer
from gql_auth.sessions.viewer_lookup import ViewerLookup

_INVALID = "This API key is not valid."


async def authenticate(
    viewers: ViewerLookup, limits: RateLimits, *, key: str, client: ClientInfo
) -> Viewer:
    """The key's owner as the caller, or UNAUTHENTICATED / RATE_LIMITED."""
    if not is_well_formed(key):
        await _count_a_guess(limits, client)
        raise TokenInvalid(_INVALID)
    secret_hash = hash_token(key)
    await limits.consume(Rule.API_KEY, secret_hash)
    viewer = await viewers.resolve_key(secret_hash)  # TokenRevoked: revoked, expired, inactive
    if viewer is None:
        await _count_a_guess(limits, client)
        raise TokenInvalid(_INVALID)
    return viewer


async def _count_a_guess(limits: RateLimits, client: ClientInfo) -> None:
    """Counts a failure of the address; RATE_LIMITED (with the real wait) once it is over."""
    await limits.consume(Rule.LOGIN_IP, client.address_key)
