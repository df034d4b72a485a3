"""Access-token JWTs (python-jose) and opaque refresh tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from jose import ExpiredSignatureError, JWTError, jwt
from jose.backends.base import Key

from gql_auth.core.errors import TokenExpired, TokenInvalid
from gql_auth.core.models import Role
from gql_auth.security.settings import SecuritySettings
from gql_auth.security.signing_keys import load_signing_keys

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
# Hasura reads its session variables from this claim (JWT_HASURA_CLAIMS).
HASURA_CLAIMS = "https://hasura.io/jwt/claims"
_REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti")
_DECODE_OPTIONS = {f"require_{claim}": True for claim in _REQUIRED_CLAIMS}
# Longer than any token we issue; rejects garbage before any crypto runs.
_MAX_TOKEN_LENGTH = 4096
# Tokens that passed every check, kept by their text: a client sends the same
# access token for its whole lifetime, and python-jose's checks cost about as
# much as the rest of an authenticated request (docs/performance.md). Only
# verified tokens enter (forgeries cannot fill it); expiry is checked on every
# use, and the session and user are still read on every request.
VERIFIED_TOKENS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token names; the session row, not the token, says the rest."""

    user_id: int
    session_id: str
    # RFC 8176 methods the sign-in proved; informative (the session row is what is checked).
    amr: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActiveOrganization:
    """The organization a session works in, and the caller's role there (e.g. "ADMIN")."""

    id: int
    role: str


@dataclass(frozen=True, slots=True)
class VerifiedAccessToken:
    """A token that checked out: what gql-auth uses, and every claim as it was signed."""

    claims: AccessClaims
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    expires_in: int


class AccessTokenCodec:
    """Signs with SECRET_KEY as given (HS*), or with a private key whose public half is published.

    Either way other services can verify with any JWT library: HS* needs the
    secret, ES256/RS256 only the JWKS.
    """

    def __init__(self, settings: SecuritySettings) -> None:
        self._algorithm = settings.jwt_algorithm
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetime = timedelta(minutes=settings.access_token_expire_minutes)
        self._hasura_claims = settings.jwt_hasura_claims
        # A retired key still verifies during a rotation; it never signs.
        self._keys = load_signing_keys(settings)
        self._headers = {"kid": self._keys.kid} if self._keys.kid else None
        # Per codec, so keys and claims checked are this codec's; raising calls are never kept.
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._verify_signed)

    def jwks(self) -> dict[str, object] | None:
        """The public keys other services verify with; None with HS*, whose key is secret."""
        if not self._keys.asymmetric:
            return None
        return {"keys": [dict(member) for member in self._keys.published]}

    def issue(
        self,
        *,
        user_id: int,
        session_id: str,
        role: str,
        amr: Sequence[str],
        scope: str = "",
        organization: ActiveOrganization | None = None,
    ) -> IssuedAccessToken:
        """`scope`: what the session may use (RFC 8693 style, space-separated), for gateways.

        `organization`: the session's active one and the role there, read when issuing.
        """
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "sid": session_id,
            "role": role,
            "amr": list(amr),
            "scope": scope,
            "type": ACCESS_TOKEN_TYPE,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
            "aud": self._audience,
        }
        if organization is not None:
            claims["org_id"] = str(organization.id)
            claims["org_role"] = organization.role
        if self._hasura_claims:
            claims[HASURA_CLAIMS] = hasura_claims(
                user_id=user_id, role=role, organization=organization
            )
        token = jwt.encode(
            claims, self._keys.signing_key, algorithm=self._algorithm, headers=self._headers
        )
        return IssuedAccessToken(token=token, expires_in=int(self._lifetime.total_seconds()))

    def decode(self, token: str) -> AccessClaims:
        """Checks crit, signature, algorithm allow-list, kid, exp, iss, aud and type, or raises."""
        return self.verify(token).claims

    def verify(self, token: str) -> VerifiedAccessToken:
        """decode's checks (all of them live here), keeping the signed claims for introspection."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise TokenInvalid
        verified = self._verified(token)
        # python-jose's own rule, for a token kept since it was first checked.
        if verified.payload["exp"] < int(time.time()):
            raise TokenExpired
        return verified

    def _verify_signed(self, token: str) -> VerifiedAccessToken:
        if _has_critical_extensions(token):
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
        return VerifiedAccessToken(
            AccessClaims(user_id=int(subject), session_id=session_id, amr=methods),
            MappingProxyType(claims),  # shared by every request that sends this token
        )

    def _verified_claims(self, token: str) -> dict[str, Any]:
        for key in self._candidate_keys(token):
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

    def _candidate_keys(self, token: str) -> tuple[Key, ...]:
        """ES256/RS256: the one allow-listed key its `kid` names. HS*: each secret in turn.

        Only `kid` picks a key, and only among ours: `jku`, `jwk` and `x5u`
        headers (keys a token brings along or points to) are never looked at.
        """
        if not self._keys.asymmetric:
            return self._keys.secrets
        kid = jwt.get_unverified_header(token).get("kid")  # parses: crit was checked first
        key = self._keys.by_kid.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenInvalid
        return (key,)


def hasura_claims(
    *, user_id: int, role: str, organization: ActiveOrganization | None = None
) -> dict[str, object]:
    """Hasura's session variables: the user, their role and every role it holds.

    gql-auth's role names are used as they are (USER, ADMIN): Hasura's own
    all-powerful `admin` role is a different, lower-case name. With an active
    organization, its id and the role there, for row permissions that filter by it.
    """
    held = Role(role)
    claims: dict[str, object] = {
        "x-hasura-default-role": held.value,
        "x-hasura-allowed-roles": [other.value for other in Role if other.rank <= held.rank],
        "x-hasura-user-id": str(user_id),
    }
    if organization is not None:
        claims["x-hasura-org-id"] = str(organization.id)
        claims["x-hasura-org-role"] = organization.role
    return claims


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
