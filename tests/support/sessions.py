"""Sessions: whether one still answers (its tokens accepted, or refused as revoked), the
dashboard's list of them, and logging one out."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.helpers import (
    LOGOUT,
    ME,
    assert_error,
    data_of,
    gql,
)

SESSIONS = "{ userDashboard { activeSessions { id current userAgent ipAddress } } }"


def assert_revoked(body: dict[str, Any]) -> None:
    assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
    assert body["data"] is None


async def assert_alive(client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    """The session's access token is accepted (its refresh token is left unused)."""
    assert data_of(await gql(client, ME, token=payload["accessToken"]), "me")


async def logout(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    return await gql(client, LOGOUT, {"token": refresh_token})
