"""The one sign-in use case: limits -> password -> a second factor -> session and tokens.

Every way into a session runs through here: register, login (and verifyMfa,
its second step when the account has TOTP on), a passkey sign-in and
changePassword. Each function owns its whole sequence, so a resolver only
parses input and maps the SignedIn it gets back. Refreshing a session is
rotation's, ending one is session_endings'; the CLI's create-admin makes an account
and no session, so it calls accounts.register.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import accounts
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import InvalidCredentials, SecondFactorRequired
from gql_auth.core.models import utcnow
from gql_auth.factors import challenges as mfa_challenges
from gql_auth.factors import factors, second_factor
from gql_auth.limits.limiter import RateLimits, Rule
from gql_auth.passkeys import login as passkey_login
from gql_auth.passkeys.passkeys import PasskeyServices
from gql_auth.security.passwords import PasswordHasher
from gql_auth.security.tokens import AccessTokenCodec
from gql_auth.sessions import amr, sessions
from gql_auth.sessions import endings as session_endings
from gql_auth.sessions.sessions import Grant, SignedIn
from gql_auth.users import locks
from gql_auth.users.models import User
from gql_auth.webhooks.events import SessionEnd


@dataclass(frozen=True, slots=True)
class SignInServices:
    """What signing in works with: an app instance's shared objects and its settings."""

    hasher: PasswordHasher
    limits: RateLimits
    codec: AccessTokenCodec
    session_lifetime: timedelta
    max_sessions: int
    password_min_length: int
    factors: second_factor.FactorServices
    passkeys: PasskeyServices


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
    grant = Grant(user=user, amr=amr.PASSWORD, password_hash=user.password_hash)
    return await open_session(db, services, grant=grant, client=client, records_sign_in=False)


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
    An account with a second factor or a passkey then gets SecondFactorRequired
    instead of a session (with a single-use mfaToken when a code can finish it):
    nothing counts as a sign-in until with_second_factor or a passkey sign-in
    passes. A wrong password answers as for any account, so it does not tell
    whether the account has a factor.
    """
    checked = await accounts.authenticate(
        db, services.hasher, services.limits, login=login, password=password, client=client
    )
    user = checked.user
    # The hash ran before the lock: under it, the password and the flag must be as checked.
    if not await locks.still_as_checked(db, user_id=user.id, password_hash=checked.password_hash):
        accounts.count_failed_sign_in(db, user=user, client=client)
        raise InvalidCredentials
    password_hash = checked.password_hash
    if checked.upgraded_hash is not None:
        user.password_hash = password_hash = checked.upgraded_hash
    # Read under the lock too: a factor added while the password was hashing counts.
    await require_no_second_factor(db, user=user, first_factor=amr.PASSWORD)
    grant = Grant(user=user, amr=amr.PASSWORD, password_hash=password_hash)
    return await open_session(db, services, grant=grant, client=client)


async def require_no_second_factor(
    db: AsyncSession, *, user: User, first_factor: tuple[str, ...]
) -> None:
    """SecondFactorRequired when the account holds a second factor or a passkey.

    Every first factor (a password, a social provider) ends here before a session:
    with a single-use mfaToken when a code can finish it, remembering what the
    first factor was. Call it under the user's row lock, so a factor added
    meanwhile counts.
    """
    methods = await factors.methods_of(db, user_id=user.id)
    if methods:
        verifiable = not second_factor.CODE_METHODS.isdisjoint(methods)
        token = (
            await mfa_challenges.issue(db, user=user, first_factor=" ".join(first_factor))
            if verifiable
            else None
        )
        raise SecondFactorRequired(mfa_token=token, methods=methods)


async def with_second_factor(
    db: AsyncSession,
    services: SignInServices,
    *,
    mfa_token: str,
    code: str,
    client: ClientInfo,
) -> SignedIn:
    """verifyMfa: the mfaToken of a passed password check plus a TOTP or recovery code.

    An unknown, expired or used token and a wrong code give one answer. The
    token is opened under the user's row lock and deleted with the session's
    opening, so two requests with one token get at most one session.
    """
    refused = InvalidCredentials(second_factor.WRONG_CODE)
    opened = await mfa_challenges.open_for(db, mfa_token)
    if opened is None:
        raise refused
    challenge, user = opened
    await second_factor.verify_code(db, services.factors, user=user, code=code, client=client)
    if not await mfa_challenges.consume(db, challenge):
        raise refused
    first = tuple(challenge.first_factor.split())
    grant = Grant(
        user=user,
        amr=(*first, "otp"),
        # A password first: it must still be the one checked. Otherwise only the flag.
        password_hash=user.password_hash if first == amr.PASSWORD else None,
    )
    return await open_session(db, services, grant=grant, client=client)


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
        services.passkeys,
        challenge_id=challenge_id,
        credential=credential,
        client=client,
    )
    grant = Grant(user=user, amr=amr.PASSKEY, password_hash=None)
    return await open_session(db, services, grant=grant, client=client)


async def change_password(
    db: AsyncSession,
    services: SignInServices,
    *,
    user: User,
    current_password: str,
    new_password: str,
    client: ClientInfo,
    proven: Sequence[str],
) -> SignedIn:
    """Sets a new password, revokes every session of the user and opens a fresh one.

    The caller's own session dies too: whoever held any token issued under the
    old password is out. The new session replaces one that was already signed
    in, and the current password was just checked again, so it asks nothing more;
    it keeps what the caller's session had `proven` (its amr), a password included.
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
    await session_endings.revoke_all(db, user_id=user.id, reason=SessionEnd.CREDENTIALS_CHANGED)
    methods = (*amr.PASSWORD, *(method for method in proven if method not in amr.PASSWORD))
    grant = Grant(user=user, amr=methods, password_hash=user.password_hash)
    return await open_session(db, services, grant=grant, client=client, records_sign_in=False)


async def open_session(
    db: AsyncSession,
    services: SignInServices,
    *,
    grant: Grant,
    client: ClientInfo,
    records_sign_in: bool = True,
) -> SignedIn:
    """The one public step that ends every sign-in: a session, then the sign-in is recorded.

    sessions.start checks the grant again under the user's row lock, prunes
    expired sessions and keeps the cap. Recorded only once it opened, since a
    refusal still commits: no LOGIN_SUCCEEDED for a sign-in that was refused.
    A registration or a password change opens one without being a sign-in.
    """
    signed_in = await sessions.start(
        db,
        services.codec,
        grant=grant,
        client=client,
        lifetime=services.session_lifetime,
        max_sessions=services.max_sessions,
    )
    if records_sign_in:
        grant.user.last_login_at = utcnow()
        audit.record(db, EventKind.LOGIN_SUCCEEDED, user_id=grant.user.id, client=client)
    return signed_in
