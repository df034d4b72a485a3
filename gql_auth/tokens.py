"""Access-token JWTs (python-jose) and opaque refresh tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jose import ExpiredSignatureError, JWTError, jwk, jwt

from gql_auth.config import Settings
from gql_auth.errors import TokenExpired, TokenInvalid

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
_REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti")
_DECODE_OPTIONS = {f"require_{claim}": True for claim in _REQUIRED_CLAIMS}
# Longer than any token we issue; rejects garbage before any crypto runs.
_MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token names; the session row, not the token, says the rest."""

    user_id: int
    session_id: str
    # RFC 8176 methods the sign-in proved; informative (the session row is what is checked).
    amr: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    expires_in: int


class AccessTokenCodec:
    """Signs with SECRET_KEY as given, so other services can verify with any JWT library."""

    def __init__(self, settings: Settings) -> None:
        self._algorithm = settings.jwt_algorithm
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetime = timedelta(minutes=settings.access_token_expire_minutes)
        self._signing_key = settings.signing_key()
        previous = settings.secret_key_previous
        # A retired key still verifies during a rotation; it never signs.
        # Key objects are built once: given a string, python-jose tries it as
        # JSON and builds a new key on every decode (a third of its cost).
        self._verifying_keys = [
            jwk.construct(key, self._algorithm)
            for key in [self._signing_key] + ([previous.get_secret_value()] if previous else [])
        ]

    def issue(
        self, *, user_id: int, session_id: str, role: str, amr: Sequence[str]
    ) -> IssuedAccessToken:
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "sid": session_id,
            "role": role,
            "amr": list(amr),
            "type": ACCESS_TOKEN_TYPE,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
            "aud": self._audience,
        }
        token = jwt.encode(claims, self._signing_key, algorithm=self._algorithm)
        return IssuedAccessToken(token=token, expires_in=int(self._lifetime.total_seconds()))

    def decode(self, token: str) -> AccessClaims:
        """Checks crit, signature, algorithm allow-list, exp, iss, aud and type, or raises."""
        if not token or len(token) > _MAX_TOKEN_LENGTH or _has_critical_extensions(token):
            raise TokenInvalid
        claims = self._verified_claims(token)
        subject, session_id = claims.get("sub"), claims.get("sid")
        if (
            claims.get("type") != ACCESS_TOKEN_TYPE
            or not isinstance(subject, str)
            or not subject.isdigit()
            or not isinstance(session_id, str)
            or not isinstance(claims.get("exp"), int)
        ):
            raise TokenInvalid
        amr = claims.get("amr")
        methods = (
            tuple(amr) if isinstance(amr, list) and all(isinstance(m, str) for m in amr) else ()
        )
        return AccessClaims(user_id=int(subject), session_id=session_id, amr=methods)

    def _verified_claims(self, token: str) -> dict[str, object]:
        for key in self._verifying_keys:
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=[self._algorithm],  # pinned: never "none", never RS/HS confusion
                    audience=self._audience,
                    issuer=self._issuer,
                    options=_DECODE_OPTIONS,
                )
            except ExpiredSignatureError:
                raise TokenExpired from None
            except JWTError:
                continue
        raise TokenInvalid


def _has_critical_extensions(token: str) -> bool:
    """RFC 7515 4.1.11: a `crit` header names extensions the verifier must understand.

    We understand none, so any `crit` (well-formed or not) refuses the token;
    python-jose would ignore it. A header that does not parse refuses it too.
    """
    try:
        header = jwt.get_unverified_header(token)
    except JWTError:
        return True
    return "crit" in header


def new_refresh_token() -> str:
    """256 random bits; only its hash is stored."""
    return secrets.token_urlsafe(32)


# Ours are 43 characters; anything much longer is garbage, refused before hashing.
MAX_OPAQUE_TOKEN_LENGTH = 128


def is_plausible_token(token: str) -> bool:
    """Whether a refresh, reset or verification token is worth hashing and looking up."""
    return 0 < len(token) <= MAX_OPAQUE_TOKEN_LENGTH


def hash_token(token: str) -> str:
    """SHA-256 hex of a random token we issued (refresh, reset, verification)."""
    # A fast hash is right here: the token is high-entropy, so no brute force.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_session_id() -> str:
    return uuid.uuid4().hex
