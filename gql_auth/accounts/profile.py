"""Profile edits: a new username at once, a new e-mail address only once its link is used.

Both need the current password: an access token alone (15 minutes, perhaps
stolen) must not be enough to move the account to another mailbox and then
reset its password there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import accounts, mailed_tokens, token_revocation
from gql_auth.accounts.mailed_tokens import IssuedToken
from gql_auth.accounts.models import TokenPurpose
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import savepoint
from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.limits.limiter import RateLimits
from gql_auth.security.passwords import PasswordHasher
from gql_auth.security.validation import clean_email, clean_username, email_key, username_key
from gql_auth.users import locks
from gql_auth.users.models import User
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, user_data


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    user: User
    # Set when a new address became pending: the link that confirms it. The address in
    # force hears of it through EMAIL_CHANGE_REQUESTED's notice (mail/notices.py).
    verification: IssuedToken | None = None


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What the input asks to change, after the registration rules passed."""

    username: str | None
    email: str | None
    cancels_pending: bool

    @property
    def needs_password(self) -> bool:
        return self.username is not None or self.email is not None

    @property
    def changes(self) -> bool:
        return self.needs_password or self.cancels_pending


def _wanted(user: User, *, username: str | None, email: str | None) -> _Wanted:
    new_username = clean_username(username) if username is not None else None
    new_email = clean_email(email) if email is not None else None
    # The address in force again: no new claim, and any pending change is withdrawn.
    is_current = new_email is not None and email_key(new_email) == user.email_key
    return _Wanted(
        username=new_username if new_username != user.username else None,
        email=new_email if not is_current and new_email != user.pending_email else None,
        cancels_pending=is_current and user.pending_email is not None,
    )


async def update_profile(
    db: AsyncSession,
    hasher: PasswordHasher,
    limits: RateLimits,
    *,
    user: User,
    username: str | None,
    email: str | None,
    current_password: str | None,
    client: ClientInfo,
) -> ProfileUpdate:
    """Changes what was given and leaves the rest; every check runs before anything changes.

    A username or address that differs from the one in force needs the current
    password (missing: BAD_USER_INPUT currentPassword REQUIRED; wrong:
    InvalidCredentials, counted as a failed sign-in).
    """
    wanted = _wanted(user, username=username, email=email)
    if wanted.needs_password:
        if not current_password:
            raise InvalidInput(
                Subject.CURRENT_PASSWORD,
                Reason.REQUIRED,
                "Enter your current password to change your username or e-mail address.",
            )
        await accounts.verify_current_password(
            db, hasher, limits, user=user, password=current_password, client=client
        )
    # A change of case keeps the key, which is this user's own: nothing to check then.
    new_key = username_key(wanted.username) if wanted.username else user.username_key
    claimed_username = wanted.username if new_key != user.username_key else None
    await accounts.ensure_available(db, username=claimed_username, email=wanted.email)
    if wanted.changes:
        await _save(db, user, wanted, new_key=new_key, claimed_username=claimed_username)
    if wanted.email is not None or wanted.cancels_pending:
        # A link for an address no longer wanted must not confirm it (even when throttled).
        await token_revocation.discard(db, user=user, purpose=TokenPurpose.EMAIL_VERIFICATION)
    if wanted.email is None:
        return ProfileUpdate(user=user)
    audit.record(db, EventKind.EMAIL_CHANGE_REQUESTED, user_id=user.id, client=client)
    return ProfileUpdate(
        user=user, verification=await _verification(db, limits, user=user, client=client)
    )


async def _save(
    db: AsyncSession, user: User, wanted: _Wanted, *, new_key: str, claimed_username: str | None
) -> None:
    """Writes the change in a savepoint: losing a race for the name undoes it, not the request."""
    # The user's row first, then its session and tokens: the one lock order. The
    # savepoint flushes what is pending (the session's lastUsedAt) before it opens.
    await locks.lock_user(db, user.id)
    try:
        async with savepoint(db):
            if wanted.username is not None:
                user.username, user.username_key = wanted.username, new_key
            if wanted.email is not None or wanted.cancels_pending:
                user.pending_email = wanted.email
            await db.flush()
            if wanted.username is not None:
                # The address changes only once confirmed (mailed_tokens.verify_email).
                await outbox.emit(db, EventType.USER_UPDATED, user_data(user))
    except IntegrityError:
        # Lost a race with another account taking the name: say which field.
        await accounts.ensure_available(
            db, username=claimed_username, email=wanted.email, latest=True
        )
        raise


async def _verification(
    db: AsyncSession, limits: RateLimits, *, user: User, client: ClientInfo
) -> IssuedToken | None:
    """The link for the pending address; none when throttled (requestEmailVerification resends)."""
    address = user.pending_email
    if address is None or not await mailed_tokens.may_send(limits, address=address, client=client):
        return None
    return await mailed_tokens.issue(
        db, user=user, purpose=TokenPurpose.EMAIL_VERIFICATION, address=address
    )
