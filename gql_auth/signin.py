"""The one sign-in use case: limits -> password -> (a second factor) -> session and tokens.

Every way into a session runs through here: register, login,
changePassword and a passkey sign-in. Each function owns its whole sequence, so a resolver only
parses input and maps the SignedIn it gets back. Refreshing a session is
rotation's, ending one is sessions'; the CLI's create-admin makes an account
and no session, so it calls accounts.register.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth import accounts, audit, passkey_login, sessions
from gql_auth.audit import EventKind
from gql_auth.client_info import ClientInfo
from gql_auth.models import User, utcnow
from gql_auth.passkeys import RelyingParty
from gql_auth.passwords import PasswordHasher
from gql_auth.ratelimit import RateLimits, Rule
from gql_auth.sessions import SignedIn
from gql_auth.tokens import AccessTokenCodec


@dataclass(frozen=True, slots=True)
class SignInServices:
    """What signing in works with: an app instance's shared objects and its settings."""

    hasher: PasswordHasher
    limits: RateLimits
    codec: AccessTokenCodec
    session_lifetime: timedelta
    max_sessions: int
    password_min_length: int
    relying_party: RelyingParty  # whom passkeys are scoped to (WEBAUTHN_RP_ID, _ORIGINS)


async def register(
    db: AsyncSession,
    services: SignInServices,
    *,
    username: str,
    email: str,
    password: str,
    client: ClientInfo,
) -> SignedIn:
    """Creates a USER account and signs it in; a refusal creates nothing."""
    await services.limits.consume(Rule.REGISTER_IP, client.address_key)
    user = await accounts.register(
        db,
        services.hasher,
        username=username,
        email=email,
        password=password,
        password_min_length=services.password_min_length,
        client=client,
    )
    return await _open_session(db, services, user=user, client=client)


async def with_password(
    db: AsyncSession,
    services: SignInServices,
    *,
    login: str,
    password: str,
    client: ClientInfo,
) -> SignedIn:
    """Signs in with a username or e-mail and a password, else InvalidCredentials.

    The password is checked under every limit first (accounts.authenticate).
    A second factor goes right after that check: until it passes, nothing may
    count as a sign-in nor open a session. Answering "a second factor is
    required" is then a domain error or a second result type of this
    function, mapped at the GraphQL edge; resolvers stay as they are.
    """
    user = await accounts.authenticate(
        db, services.hasher, services.limits, login=login, password=password, client=client
    )
    # <- the place of a second factor: after the password, before the sign-in counts.
    _record_sign_in(db, user=user, client=client)
    return await _open_session(db, services, user=user, client=client)


async def with_passkey(
    db: AsyncSession,
    services: SignInServices,
    *,
    challenge_id: str,
    credential: str,
    client: ClientInfo,
) -> SignedIn:
    """Signs in with a passkey's assertion over a challenge of beginPasskeyLogin.

    No password and no second factor: a passkey that required user verification
    is both already, something held and the PIN or biometric that unlocked it.
    """
    user = await passkey_login.authenticate(
        db,
        services.limits,
        services.relying_party,
        challenge_id=challenge_id,
        credential=credential,
        client=client,
    )
    _record_sign_in(db, user=user, client=client)
    return await _open_session(db, services, user=user, client=client)


async def change_password(
    db: AsyncSession,
    services: SignInServices,
    *,
    user: User,
    current_password: str,
    new_password: str,
    client: ClientInfo,
) -> SignedIn:
    """Sets a new password, revokes every session of the user and opens a fresh one.

    The caller's own session dies too: whoever held any token issued under the
    old password is out. The new session replaces one that was already signed
    in, and the current password was just checked again, so it asks nothing more.
    """
    await accounts.change_password(
        db,
        services.hasher,
        services.limits,
        user=user,
        client=client,
        current_password=current_password,
        new_password=new_password,
        password_min_length=services.password_min_length,
    )
    await sessions.revoke_all(db, user_id=user.id)
    return await _open_session(db, services, user=user, client=client)


def _record_sign_in(db: AsyncSession, *, user: User, client: ClientInfo) -> None:
    """Records that the user proved who they are: every check of the sign-in passed."""
    user.last_login_at = utcnow()
    audit.record(db, EventKind.LOGIN_SUCCEEDED, user_id=user.id, client=client)


async def _open_session(
    db: AsyncSession, services: SignInServices, *, user: User, client: ClientInfo
) -> SignedIn:
    # sessions.start locks the user, prunes expired sessions and keeps the cap.
    return await sessions.start(
        db,
        services.codec,
        user=user,
        client=client,
        lifetime=services.session_lifetime,
        max_sessions=services.max_sessions,
    )
