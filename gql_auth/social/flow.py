"""The two halves of a trip to a provider: a state handed out, then taken back once.

begin() keeps, for a new random `state` (only its SHA-256 is stored): the
provider, the redirect URI (one of OAUTH_REDIRECT_URIS, exact), a PKCE
verifier and a nonce, for ten minutes. finish() takes the state (a DELETE
decides: of two requests with one state, one gets it) before the provider is
asked anything, then exchanges the code and checks the ID token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import delete_expired, rowcount
from gql_auth.core.errors import InvalidCredentials, InvalidInput, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.limits.limiter import RateLimits, Rule
from gql_auth.security.tokens import hash_token
from gql_auth.social.clients import ProviderClients
from gql_auth.social.identity import Identity
from gql_auth.social.models import SocialState, StatePurpose
from gql_auth.social.settings import ProviderConfig

LIFETIME = timedelta(minutes=10)
# Expired states one begin drops at most (each begin adds one).
PRUNE_BATCH = 100
STATE_MAX = 128


@dataclass(frozen=True, slots=True)
class SocialServices:
    """What social sign-in works with, built once per app (gql_auth.services)."""

    providers: dict[str, ProviderConfig]
    redirect_uris: frozenset[str]
    client: ProviderClients
    limits: RateLimits


@dataclass(frozen=True, slots=True)
class Started:
    authorization_url: str
    state: str


@dataclass(frozen=True, slots=True)
class Returned:
    """A state taken back and the identity the provider's answer vouched for."""

    identity: Identity
    provider: ProviderConfig
    user_id: int | None  # LINK: who asked
    session_id: str | None


async def begin(
    db: AsyncSession,
    services: SocialServices,
    *,
    provider_id: str,
    redirect_uri: str,
    purpose: StatePurpose,
    client: ClientInfo,
    user_id: int | None = None,
    session_id: str | None = None,
) -> Started:
    """A state kept for ten minutes and the provider's authorization URL that carries it."""
    provider = services.providers.get(provider_id)
    if provider is None:
        raise InvalidInput(Subject.PROVIDER, Reason.NOT_FOUND, "No such sign-in provider.")
    if redirect_uri not in services.redirect_uris:
        raise InvalidInput(
            Subject.REDIRECT_URI, Reason.INVALID, "This redirect URI is not in OAUTH_REDIRECT_URIS."
        )
    await services.limits.consume(Rule.SOCIAL_BEGIN_IP, client.address_key)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 allows 43 to 128
    url = await services.client.of(provider).authorization_url(
        provider, redirect_uri=redirect_uri, state=state, nonce=nonce, code_verifier=verifier
    )
    await prune_expired(db)
    now = utcnow()
    db.add(
        SocialState(
            state_hash=hash_token(state),
            purpose=purpose,
            provider=provider.id,
            redirect_uri=redirect_uri,
            code_verifier=verifier,
            nonce=nonce,
            user_id=user_id,
            session_id=session_id,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    await db.flush()
    return Started(authorization_url=url, state=state)


async def finish(
    db: AsyncSession,
    services: SocialServices,
    *,
    state: str,
    code: str,
    purpose: StatePurpose,
    client: ClientInfo,
) -> Returned:
    """Takes the state back, then asks the provider who signed in; InvalidCredentials if not.

    A failure is reserved under SOCIAL_FINISH_IP before anything is looked up, and
    given back on success.
    """
    attempt = await services.limits.reserve({Rule.SOCIAL_FINISH_IP: client.address_key})
    taken = await _take(db, state, purpose) if 0 < len(state) <= STATE_MAX else None
    provider = services.providers.get(taken.provider) if taken is not None else None
    if taken is None or provider is None or not code or len(code) > 2048:
        raise InvalidCredentials("The sign-in could not be completed; start it again.")
    identity = await services.client.of(provider).identity(
        provider,
        code=code,
        redirect_uri=taken.redirect_uri,
        code_verifier=taken.code_verifier,
        nonce=taken.nonce,
    )
    await attempt.refund(Rule.SOCIAL_FINISH_IP)
    return Returned(
        identity=identity, provider=provider, user_id=taken.user_id, session_id=taken.session_id
    )


async def _take(db: AsyncSession, state: str, purpose: StatePurpose) -> SocialState | None:
    """The live state, deleted: the DELETE decides, so a state works once."""
    now = utcnow()
    state_hash = hash_token(state)
    row = await db.scalar(
        select(SocialState).where(
            SocialState.state_hash == state_hash,
            SocialState.purpose == purpose,
            SocialState.expires_at > now,
        )
    )
    if row is None:
        return None
    db.expunge(row)  # a plain record from here: the DELETE below is the only write
    taken = await db.execute(
        delete(SocialState)
        .where(SocialState.state_hash == state_hash)
        .execution_options(synchronize_session=False)
    )
    return row if rowcount(taken) == 1 else None


async def prune_expired(db: AsyncSession, *, batch: int = PRUNE_BATCH) -> int:
    """Drops up to `batch` expired states (core.database.delete_expired says how, and why)."""
    return await delete_expired(db, SocialState.state_hash, SocialState.expires_at, batch=batch)
