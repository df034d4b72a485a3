"""Profile edits: a new username or e-mail address, under the registration rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth import recovery
from gql_auth.accounts import ensure_available
from gql_auth.audit import ClientInfo
from gql_auth.models import TokenPurpose, User
from gql_auth.ratelimit import RateLimits
from gql_auth.recovery import IssuedToken
from gql_auth.validation import clean_email, clean_username, username_key


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    user: User
    # Set when the address changed: the mail that asks to confirm the new one.
    verification: IssuedToken | None = None


async def update_profile(
    db: AsyncSession,
    limits: RateLimits,
    *,
    user: User,
    username: str | None,
    email: str | None,
    client: ClientInfo,
) -> ProfileUpdate:
    """Changes what was given and leaves the rest; every field is checked before any changes."""
    new_username = clean_username(username) if username is not None else None
    new_email = clean_email(email) if email is not None else None
    # A change of case keeps the key, which is this user's own: nothing to check then.
    new_key = username_key(new_username) if new_username is not None else user.username_key
    claimed_username = new_username if new_key != user.username_key else None
    claimed_email = new_email if new_email != user.email else None
    await ensure_available(db, username=claimed_username, email=claimed_email)
    if new_username is not None:
        user.username, user.username_key = new_username, new_key
    if claimed_email is not None:
        user.email = claimed_email
        user.email_verified = False  # the old proof was for another mailbox
    try:
        await db.flush()
    except IntegrityError:
        # Lost a race with another account taking the name: say which field.
        await db.rollback()
        await ensure_available(db, username=claimed_username, email=claimed_email)
        raise
    if claimed_email is None or not await recovery.may_send(
        limits, address=claimed_email, client=client
    ):
        return ProfileUpdate(user=user)
    verification = await recovery.issue(db, user=user, purpose=TokenPurpose.EMAIL_VERIFICATION)
    return ProfileUpdate(user=user, verification=verification)
