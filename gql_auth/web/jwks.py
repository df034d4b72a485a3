"""GET /.well-known/jwks.json: the public keys other services verify access tokens with."""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gql_auth.services import Services

PATH = "/.well-known/jwks.json"
# Resource servers may cache it this long, which a rotation's steps wait out (docs/deployment.md).
CACHE_CONTROL = "public, max-age=300"


def mount(app: FastAPI, services: Services) -> None:
    """Publishes the JWKS with ES256/RS256; with HS* there is nothing public, so no route (404)."""
    published = services.tokens.jwks()
    if published is None:
        return
    body = json.dumps(published, separators=(",", ":")).encode()  # keys are fixed per process

    async def jwks(_request: Request) -> Response:
        return Response(
            body, media_type="application/json", headers={"cache-control": CACHE_CONTROL}
        )

    app.router.routes.append(Route(PATH, jwks, methods=["GET"]))
