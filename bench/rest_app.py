"""`rest`: the hand-written alternative to our `me`, a FastAPI GET /me doing the same work.

Same settings (read from the environment like the service), same engine,
same JWT checks (gql_auth.security.tokens.AccessTokenCodec) and the same session
check (gql_auth.services.viewer_lookup, built as the service builds it: one
indexed read on the loop, revocation and expiry checked). What it leaves out is exactly what GraphQL
and our middleware add.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Header, HTTPException

from gql_auth.core.database import create_engine
from gql_auth.core.errors import Unauthenticated
from gql_auth.security.tokens import AccessTokenCodec
from gql_auth.services import viewer_lookup
from gql_auth.settings import get_settings

settings = get_settings()
viewers = viewer_lookup(settings, create_engine(settings))
codec = AccessTokenCodec(settings)
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/me")
async def me(authorization: Annotated[str | None, Header()] = None) -> dict[str, str]:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "bearer token required")
    try:
        viewer = await viewers.resolve(codec.decode(token.strip()))
    except Unauthenticated as failure:
        raise HTTPException(401, str(failure)) from None
    user = viewer.user
    return {"id": str(user.id), "username": user.username, "role": user.role.value}
