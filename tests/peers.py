"""One running app spoken to from several socket addresses, so per-address limits meet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from gql_auth.app import create_app
from gql_auth.config import Settings


@asynccontextmanager
async def one_app_with_peers(
    settings: Settings, *hosts: str
) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """One app (one limiter), and a client per host whose socket peer is that host."""
    app = create_app(settings)
    async with app.router.lifespan_context(app), AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app, client=(host, 1000)),
                    base_url="http://testserver",
                )
            )
            for host in hosts
        ]
        yield tuple(clients)
