"""Token introspection (RFC 7662) requests, as a resource server sends them."""

from __future__ import annotations

from typing import Any

import httpx

from gql_auth.settings import Settings
from tests.support.helpers import (
    SqlDatabase,
    make_settings,
)

PATH = "/oauth/introspect"


SECRET = "introspection-secret-for-resource-servers-0123"


AUTHORIZED = {"Authorization": f"Bearer {SECRET}"}


def with_introspection(database: SqlDatabase, **extra: Any) -> Settings:
    return make_settings(database.url, introspection_secret=SECRET, **extra)


async def introspect(
    client: httpx.AsyncClient, token: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        PATH, data={"token": token}, headers=AUTHORIZED if headers is None else headers
    )
