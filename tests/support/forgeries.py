"""Forged access tokens: a genuine one re-signed, unsigned or bent, as an attacker sends them."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from jose import jwt

from tests.support.helpers import (
    SECRET_KEY,
    claims_of,
)


def resign(
    token: str,
    key: str = SECRET_KEY,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    **changes: Any,
) -> str:
    """The token's own claims with some changed (None removes one), signed again."""
    claims = {**claims_of(token), **changes}
    claims = {name: value for name, value in claims.items() if value is not None}
    return str(jwt.encode(claims, key, algorithm=algorithm, headers=headers))


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def unsigned(token: str) -> str:
    """`alg: none` with the genuine claims and no signature."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims_of(token))}."


def expired(token: str) -> str:
    now = int(time.time())
    return resign(token, iat=now - 3600, exp=now - 60)


# Each forgery starts from a genuine token; every one must be refused as TOKEN_INVALID.
FORGERIES: dict[str, Callable[[str], str]] = {
    "alg-none": unsigned,
    "alg-none-signature-kept": lambda t: unsigned(t) + t.rsplit(".", 1)[1],
    "foreign-key": lambda t: resign(t, key="someone-elses-key-0123456789abcdef"),
    "other-hmac-algorithm": lambda t: resign(t, algorithm="HS512"),
    "wrong-issuer": lambda t: resign(t, iss="evil-issuer"),
    "wrong-audience": lambda t: resign(t, aud="other-service"),
    "refresh-type": lambda t: resign(t, type="refresh"),
    "no-type": lambda t: resign(t, type=None),
    "no-jti": lambda t: resign(t, jti=None),
    "no-session": lambda t: resign(t, sid=None),
    "no-expiry": lambda t: resign(t, exp=None),
    "non-numeric-subject": lambda t: resign(t, sub="admin"),
    "tampered-payload": lambda t: ".".join(
        [t.split(".")[0], _b64({**claims_of(t), "role": "ADMIN"}), t.split(".")[2]]
    ),
    "truncated-signature": lambda t: t[:-5],
    # RFC 7515 4.1.11: extensions named in `crit` must be understood; we understand none.
    "crit-header": lambda t: resign(t, headers={"crit": ["exp"]}),
    "crit-unknown-extension": lambda t: resign(t, headers={"crit": ["b64"], "b64": False}),
    "crit-empty-list": lambda t: resign(t, headers={"crit": []}),
    "crit-malformed": lambda t: resign(t, headers={"crit": "exp"}),
    "not-a-jwt": lambda _t: "not-a-jwt",
    "huge": lambda _t: "a" * 10_000,
}
