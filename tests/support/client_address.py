"""The client address a session records, as sent through HTTP header lines."""

from __future__ import annotations

import httpx

from tests.support.helpers import (
    data_of,
    gql,
    register_input,
)

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
