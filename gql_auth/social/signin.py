"""Signing in with a provider: the linked account, a trusted link by address, or a new account.

Ends like every other way in (gql_auth.signin): under the user's row lock the
account must be active, a second factor or passkey it holds is asked for
(MFA_REQUIRED, the mfaToken remembering that the first factor was `fed`),
and signin.open_session opens the session, keeps the cap and records the
sign-in. Sessions opened this way never carry `pwd`.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth import signin
from gql_auth.accounts import accounts
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import savepoint
from gql_auth.core.errors import InvalidCredentials, InvalidInput, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.limits.limiter import Rule
from gql_auth.security.validation import (
    USERNAME_MAX,
    USERNAME_MIN,
    clean_email,
    email_key,
    username_key,
)
from gql_auth.sessions import amr
from gql_auth.sessions.sessions import Grant, SignedIn
from gql_auth.social import flow, identities
from gql_auth.social.flow import Returned, SocialServices
from gql_auth.social.models import StatePurpose
from gql_auth.users import locks
from gql_auth.users.models import User
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, user_data

_NOT_IN_USERNAMES = re.compile(r"[^A-Za-z0-9_.\-]+")
# Tries of a derived username with a random suffix before giving up.
_USERNAME_TRIES = 5


async def with_provider(
    db: AsyncSession,
    services: SocialServices,
    sign_in: signin.SignInServices,
    *,
    state: str,
    code: str,
    client: ClientInfo,
) -> SignedIn:
    """finishSocialSignIn: the account this provider's identity belongs to, signed in."""
    returned = await flow.finish(
        db, services, state=state, code=code, purpose=StatePurpose.SIGN_IN, client=client
    )
    identity = await identities.find(db, returned)
    user: User | None
    if identity is None:
        user = await _account_for_new_identity(db, services, returned, client=client)
        identity = await identities.add(db, user_id=user.id, returned=returned, client=client)
    else:
        user = await db.get(User, identity.user_id)
    if user is None:
        raise InvalidCredentials
    if not await locks.still_as_checked(db, user_id=user.id, password_hash=None):
        raise InvalidCredentials  # deactivated (checked under the user's row lock)
    identity.last_used_at = utcnow()
    identity.email = returned.identity.email or identity.email
    audit.record(db, EventKind.SOCIAL_SIGN_IN, user_id=user.id, client=client)
    await signin.require_no_second_factor(db, user=user, first_factor=amr.FEDERATED)
    grant = Grant(user=user, amr=amr.FEDERATED, password_hash=None)
    return await signin.open_session(db, sign_in, grant=grant, client=client)


async def _account_for_new_identity(
    db: AsyncSession,
    services: SocialServices,
    returned: Returned,
    *,
    client: ClientInfo,
) -> User:
    """The account an unknown identity signs in to: linked by a trusted address, or new.

    An address that belongs to an account links only when the provider is
    trusted (OAUTH_X_TRUST_EMAIL), said the address is verified, and the
    account verified it too: an unverified local account is never linked, so
    nobody can register a victim's address first and wait (pre-account hijacking).
    """
    identity = returned.identity
    if identity.email is None:
        raise InvalidInput(
            Subject.EMAIL, Reason.REQUIRED, "The provider gave no e-mail address for this account."
        )
    email = clean_email(identity.email)
    holder = await db.scalar(select(User).where(User.email_key == email_key(email)))
    if holder is not None:
        trusted = returned.provider.trust_email and identity.email_verified
        if trusted and holder.email_verified:
            if not holder.is_active:
                raise InvalidCredentials  # as for any sign-in to a deactivated account
            return holder
        raise InvalidInput(
            Subject.EMAIL,
            Reason.ACCOUNT_EXISTS,
            "An account with this e-mail address exists: sign in to it and link the provider.",
        )
    await services.limits.consume(Rule.REGISTER_IP, client.address_key)
    return await _create_account(db, returned, email=email, client=client)


async def _create_account(
    db: AsyncSession, returned: Returned, *, email: str, client: ClientInfo
) -> User:
    """A USER account without a password, with the address as the provider vouched for it."""
    base = _username_base(returned)
    for attempt in range(_USERNAME_TRIES):
        username = base if attempt == 0 else _with_suffix(base)
        if await db.scalar(select(User.id).where(User.username_key == username_key(username))):
            continue
        user = User(
            username=username,
            username_key=username_key(username),
            email=email,
            email_key=email_key(email),
            password_hash=None,
            email_verified=returned.identity.email_verified,
        )
        try:
            async with savepoint(db):  # losing a race undoes this insert alone
                db.add(user)
                await db.flush()
        except IntegrityError:
            # The address or the name was taken meanwhile: say which, or try another name.
            await accounts.ensure_available(db, email=email, latest=True)
            continue
        audit.record(db, EventKind.REGISTERED, user_id=user.id, client=client)
        await outbox.emit(db, EventType.USER_CREATED, user_data(user))
        return user
    raise InvalidInput(Subject.USERNAME, Reason.TAKEN, "No free username could be derived.")


def _username_base(returned: Returned) -> str:
    """A username from the provider's claims: preferred_username, the name, the address."""
    identity = returned.identity
    local_part = (identity.email or "").partition("@")[0]
    for candidate in (identity.preferred_username, identity.name, local_part):
        cleaned = _NOT_IN_USERNAMES.sub("", (candidate or "").replace(" ", "."))[:USERNAME_MAX]
        cleaned = cleaned.strip(".-")
        if len(cleaned) >= USERNAME_MIN:
            return cleaned
    return _with_suffix(returned.provider.id)


def _with_suffix(base: str) -> str:
    suffix = str(secrets.randbelow(10**6)).zfill(6)
    return f"{base[: USERNAME_MAX - len(suffix) - 1]}-{suffix}"
