"""POST /oauth/introspect (RFC 7662): whether an access token is live, for resource servers.

Live means exactly what gql-auth itself checks on a request: the token
decodes (AccessTokenCodec) and its session and user pass the viewer check
(gql_auth.sessions.viewer_lookup). Every other answer is `{"active": false}`,
whatever the reason, so a caller learns nothing about why.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gql_auth.api_keys.format import is_well_formed, presents_a_key
from gql_auth.api_keys.scopes import held_by, parse_stored
from gql_auth.core.client_address import address_key, client_address
from gql_auth.core.errors import RateLimited, Unauthenticated
from gql_auth.limits.limiter import Rule
from gql_auth.security.tokens import ACCESS_TOKEN_TYPE, hash_token
from gql_auth.services import Services

PATH = "/oauth/introspect"
FORM = "application/x-www-form-urlencoded"
# A form with one access token (at most 4096 characters) and a hint fits in this.
MAX_BODY_BYTES = 8 * 1024
# Claims passed through when the token carries them (amr: how the user signed in).
OPTIONAL_CLAIMS = ("amr",)
INACTIVE: dict[str, Any] = {"active": False}
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def mount(app: FastAPI, services: Services) -> None:
    """Serves introspection when INTROSPECTION_SECRET is set; unset, the route does not exist."""
    secret = services.settings.introspection_secret
    if secret is None:
        return
    app.router.routes.append(Route(PATH, _endpoint(services, secret), methods=["POST"]))


def _endpoint(services: Services, secret: SecretStr):  # type: ignore[no-untyped-def]
    expected = secret.get_secret_value().encode()

    async def introspect(request: Request) -> JSONResponse:
        # Counted before the secret is compared: guessing it is limited like everything else.
        caller = client_address(
            request.client.host if request.client else None,
            request.headers.getlist("x-forwarded-for"),
            services.trusted_proxies,
        )
        try:
            await services.rate_limits.consume(Rule.INTROSPECT_CLIENT, address_key(caller))
        except RateLimited as limited:
            return _error(429, "rate_limited", {"retry-after": str(limited.retry_after)})
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        # Constant time: the secret cannot be guessed byte by byte from the answer's timing.
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), expected):
            return _error(401, "invalid_client", {"www-authenticate": 'Bearer realm="introspect"'})
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
            return _error(415, "invalid_request")
        body = await _body(request)
        if body is None:
            return _error(413, "invalid_request")
        token = _form_field(body, "token")
        if token is None:
            return _error(400, "invalid_request")
        return JSONResponse(await introspect_token(services, token), headers=_NO_STORE)

    return introspect


async def introspect_token(services: Services, token: str) -> dict[str, Any]:
    """The RFC 7662 answer for one token: its claims if it is live, else only inactive."""
    if presents_a_key(token):
        return await _introspect_key(services, token)
    try:
        verified = services.tokens.verify(token)
    except Unauthenticated:
        return INACTIVE
    try:
        viewer = await services.viewers.resolve(verified.claims)
    except Unauthenticated:
        return INACTIVE
    payload = verified.payload
    answer: dict[str, Any] = {
        "active": True,
        "sub": payload["sub"],
        "sid": payload["sid"],
        # The role gql-auth itself would use for this request: the database's, now.
        "role": viewer.user.role.value,
        # What the session may use now: the scopes of the role the database has now.
        "scope": " ".join(held_by(viewer.user.role)),
        "exp": payload["exp"],
        "iat": payload["iat"],
        "iss": payload["iss"],
        "aud": payload["aud"],
        "token_type": ACCESS_TOKEN_TYPE,
    }
    answer.update({name: payload[name] for name in OPTIONAL_CLAIMS if name in payload})
    # The active organization as the database has it now: none once the membership is gone.
    if viewer.org_role is not None and viewer.session.active_organization_id is not None:
        answer["org_id"] = str(viewer.session.active_organization_id)
        answer["org_role"] = viewer.org_role.value
    return answer


async def _introspect_key(services: Services, key: str) -> dict[str, Any]:
    """An API key: live, its owner and the scopes it may use now (its own, cut to the role's).

    No limit of the key's is taken: the caller is a resource server, limited above.
    """
    if not is_well_formed(key):
        return INACTIVE
    try:
        viewer = await services.viewers.resolve_key(hash_token(key))
    except Unauthenticated:
        return INACTIVE
    if viewer is None or viewer.api_key is None:
        return INACTIVE
    row = viewer.api_key
    held = set(held_by(viewer.user.role))
    answer: dict[str, Any] = {
        "active": True,
        "token_type": "api_key",
        "sub": str(viewer.user.id),
        "scope": " ".join(scope for scope in parse_stored(row.scopes) if scope in held),
        "iat": int(row.created_at.timestamp()),
        "role": viewer.user.role.value,
    }
    if row.expires_at is not None:
        answer["exp"] = int(row.expires_at.timestamp())
    return answer


async def _body(request: Request) -> bytes | None:
    """The whole body, or None as soon as it is longer than MAX_BODY_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return body


def _form_field(body: bytes, name: str) -> str | None:
    """The one value of a form field; None when it is missing, empty, repeated or not UTF-8."""
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    values = [value for key, value in fields if key == name]
    return values[0] if len(values) == 1 and values[0] else None


def _error(status: int, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """RFC 6749's error shape, which RFC 7662 refers to; never says more than its code."""
    return JSONResponse(
        {"error": error}, status_code=status, headers={**_NO_STORE, **(headers or {})}
    )
