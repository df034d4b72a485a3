"""Linking a provider to a signed-in account, and unlinking it, without opening a way in.

Adding a way into an account is what a thief with a stolen token wants most, so
beginSocialLink re-authenticates: the current password for an account that has
one; for one without, a session signed in within the last ten minutes. Step-up
(Security III) applies on top: an account that holds a second factor or a
passkey needs a session that proved one. The state then binds the trip to the
provider to this user and this session; linkSocialIdentity takes it back only
for them. Unlinking never removes the last way in.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import accounts
from gql_auth.accounts.reauthentication import reauthenticate
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import InvalidCredentials, InvalidInput, Reason, Subject
from gql_auth.factors.factors import require_step_up
from gql_auth.factors.models import Passkey
from gql_auth.limits.limiter import RateLimits
from gql_auth.security.passwords import PasswordHasher
from gql_auth.social import flow, identities
from gql_auth.social.flow import SocialServices, Started
from gql_auth.social.models import SocialIdentity, StatePurpose
from gql_auth.users.locks import lock_user
from gql_auth.users.models import User


async def begin(
    db: AsyncSession,
    services: SocialServices,
    hasher: PasswordHasher,
    *,
    user: User,
    session_id: str,
    provider_id: str,
    redirect_uri: str,
    current_password: str | None,
    client: ClientInfo,
) -> Started:
    """beginSocialLink: re-authentication, step-up, then a LINK state bound to this session."""
    await _reauthenticate(
        db,
        hasher,
        services.limits,
        user=user,
        session_id=session_id,
        current_password=current_password,
        client=client,
    )
    return await flow.begin(
        db,
        services,
        provider_id=provider_id,
        redirect_uri=redirect_uri,
        purpose=StatePurpose.LINK,
        client=client,
        user_id=user.id,
        session_id=session_id,
    )


async def link(
    db: AsyncSession,
    services: SocialServices,
    *,
    user: User,
    session_id: str,
    state: str,
    code: str,
    client: ClientInfo,
) -> SocialIdentity:
    """linkSocialIdentity: the identity the provider vouched for, linked to the caller.

    Only the user and session that began the link may finish it. An identity
    linked to another account is IDENTITY_TAKEN; linking it again is a no-op.
    """
    returned = await flow.finish(
        db, services, state=state, code=code, purpose=StatePurpose.LINK, client=client
    )
    if returned.user_id != user.id or returned.session_id != session_id:
        raise InvalidCredentials("The sign-in could not be completed; start it again.")
    await require_step_up(db, user_id=user.id, session_id=session_id)  # under the user's lock
    existing = await identities.find(db, returned)
    if existing is not None and existing.user_id != user.id:
        raise identities.taken()
    if existing is not None:
        return existing
    return await identities.add(db, user_id=user.id, returned=returned, client=client)


async def unlink(
    db: AsyncSession,
    services: SocialServices,
    hasher: PasswordHasher,
    *,
    user: User,
    session_id: str,
    identity_id: str,
    current_password: str | None,
    client: ClientInfo,
) -> None:
    """unlinkSocialIdentity: LAST_SIGN_IN_METHOD when the account would keep no way in."""
    await _reauthenticate(
        db,
        hasher,
        services.limits,
        user=user,
        session_id=session_id,
        current_password=current_password,
        client=client,
    )
    number = accounts.parse_user_id(identity_id)  # ids are digits, like user ids
    identity = (
        await db.scalar(
            select(SocialIdentity).where(
                SocialIdentity.id == number, SocialIdentity.user_id == user.id
            )
        )
        if number is not None
        else None
    )
    if identity is None:
        raise InvalidInput(Subject.ITEM_ID, Reason.NOT_FOUND, "No such linked provider.")
    await lock_user(db, user.id)  # counted under the lock: two unlinks at once keep one
    if not await _another_way_in(db, user_id=user.id, besides=identity.id):
        raise InvalidInput(
            Subject.ITEM_ID,
            Reason.LAST_SIGN_IN_METHOD,
            "This is the account's only way in: set a password or link another provider first.",
        )
    await db.execute(
        delete(SocialIdentity)
        .where(SocialIdentity.id == identity.id)
        .execution_options(synchronize_session=False)
    )
    audit.record(db, EventKind.IDENTITY_UNLINKED, user_id=user.id, client=client)


async def _another_way_in(db: AsyncSession, *, user_id: int, besides: int) -> bool:
    """A password, a passkey or another linked identity, as committed now."""
    await db.flush()
    has_password = await db.scalar(
        select(User.password_hash.is_not(None)).where(User.id == user_id)
    )
    passkeys = await db.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
    )
    others = await db.scalar(
        select(func.count())
        .select_from(SocialIdentity)
        .where(SocialIdentity.user_id == user_id, SocialIdentity.id != besides)
    )
    return bool(has_password) or bool(passkeys) or bool(others)


async def _reauthenticate(
    db: AsyncSession,
    hasher: PasswordHasher,
    limits: RateLimits,
    *,
    user: User,
    session_id: str,
    current_password: str | None,
    client: ClientInfo,
) -> None:
    await reauthenticate(
        db,
        hasher,
        limits,
        user=user,
        session_id=session_id,
        current_password=current_password,
        client=client,
    )
    await require_step_up(db, user_id=user.id, session_id=session_id)
