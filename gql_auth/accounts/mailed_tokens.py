"""Mailed single-use tokens: password reset and e-mail verification.

A token is 256 random bits, stored only as its SHA-256, bound to one user,
one purpose and the address it was mailed to. A new request deletes the
older tokens of the same user and purpose; using one marks it used. A
verification token mailed to the account's pending address is what moves
the account to that address.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import token_revocation
from gql_auth.accounts.accounts import ensure_available, hash_new_password
from gql_auth.accounts.models import AccountToken, TokenPurpose
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import rowcount, savepoint
from gql_auth.core.errors import InvalidInput, RateLimited, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.limits.limiter import RateLimits, Rule
from gql_auth.security.passwords import PasswordHasher
from gql_auth.security.tokens import hash_token, is_plausible_token
from gql_auth.security.validation import clean_email, email_key, login_key
from gql_auth.sessions import endings as session_endings
from gql_auth.users.models import User
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, SessionEnd, user_data, user_identity

LIFETIMES = {
    TokenPurpose.PASSWORD_RESET: timedelta(minutes=30),
    TokenPurpose.EMAIL_VERIFICATION: timedelta(hours=24),
}


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A fresh token and where it goes; it exists in clear only until it is mailed."""

    purpose: TokenPurpose
    email: str
    token: str
    lifetime: timedelta


async def password_reset_wanted(
    limits: RateLimits, *, email: str, client: ClientInfo
) -> str | None:
    """The address to look up after answering, or None; touches no database.

    Throttled and malformed requests end here, and the lookup of a well-formed
    address runs after the response (issue_password_reset), so neither the
    answer nor its timing tells whether an account exists.
    """
    if not await may_send(limits, address=email, client=client):
        return None
    try:
        return clean_email(email)
    except InvalidInput:
        return None


async def issue_password_reset(db: AsyncSession, *, address: str) -> IssuedToken | None:
    """A reset token for the active account whose current address this is, else None.

    Pending addresses are not looked at: reset links go only to the address in force.
    """
    user = await db.scalar(
        select(User).where(User.email_key == email_key(address)).with_for_update()
    )
    if user is None or not user.is_active:
        return None
    return await issue(db, user=user, purpose=TokenPurpose.PASSWORD_RESET)


async def reset_password(
    db: AsyncSession,
    hasher: PasswordHasher,
    *,
    token: str,
    new_password: str,
    password_min_length: int,
    client: ClientInfo,
) -> User:
    """Sets a new password with a reset token and signs the account out everywhere."""
    row, user = await _redeemable(db, token, TokenPurpose.PASSWORD_RESET)
    # Checked before the token is spent, so a refused password can be retried with it.
    password_hash = await hash_new_password(
        hasher,
        new_password,
        min_length=password_min_length,
        user_inputs=[user.username, user.email],
        subject=Subject.NEW_PASSWORD,
    )
    await _spend(db, row)
    user.password_hash = password_hash
    # Other links, and a pending address change an intruder may have started, die too.
    await token_revocation.discard_all(db, user=user)
    await session_endings.revoke_all(db, user_id=user.id, reason=SessionEnd.CREDENTIALS_CHANGED)
    audit.record(db, EventKind.PASSWORD_RESET, user_id=user.id, client=client)
    await outbox.emit(db, EventType.PASSWORD_CHANGED, user_identity(user) | {"reset": True})
    return user


async def request_email_verification(
    db: AsyncSession, limits: RateLimits, *, user: User, client: ClientInfo
) -> IssuedToken | None:
    """A link for the pending address if there is one, else for an unverified current one.

    None when there is nothing to confirm or when throttled.
    """
    address = user.pending_email or (None if user.email_verified else user.email)
    if address is None or not await may_send(limits, address=address, client=client):
        return None
    return await issue(db, user=user, purpose=TokenPurpose.EMAIL_VERIFICATION, address=address)


async def verify_email(db: AsyncSession, *, token: str, client: ClientInfo) -> User:
    """Confirms the address the token was mailed to: the holder reads that mailbox.

    For the pending address that also makes it the account's address, if no
    other account took it meanwhile (BAD_USER_INPUT email TAKEN, nothing changes).
    """
    row, user = await _redeemable(db, token, TokenPurpose.EMAIL_VERIFICATION)
    changed = not user.email_verified
    if row.email == user.pending_email:
        await _take_pending_address(db, user)
        changed = True
    await _spend(db, row)
    user.email_verified = True
    audit.record(db, EventKind.EMAIL_VERIFIED, user_id=user.id, client=client)
    if changed:
        await outbox.emit(db, EventType.USER_UPDATED, user_data(user))
    return user


async def _take_pending_address(db: AsyncSession, user: User) -> None:
    address = user.pending_email
    assert address is not None  # noqa: S101 - the caller compared it with the token's
    await ensure_available(db, email=address)
    try:
        # A savepoint: losing the race undoes this move alone, not the request.
        async with savepoint(db):
            user.email, user.email_key, user.pending_email = address, email_key(address), None
            await db.flush()
    except IntegrityError:
        # Lost a race with a registration of the same address: say so, keep nothing.
        await ensure_available(db, email=address, latest=True)
        raise
    # Reset links went to the former address; it no longer speaks for the account.
    await token_revocation.discard(db, user=user, purpose=TokenPurpose.PASSWORD_RESET)


async def may_send(limits: RateLimits, *, address: str, client: ClientInfo) -> bool:
    """Takes one mail under every mail limit at once; False (silently) when over any.

    Per (address, client) strictly, so requests from an attacker's client cannot
    use up the owner's mails; per address from all clients as the backstop; per
    client. Reserved all or none before any work, so parallel requests cannot all
    pass, and a refusal costs no budget. The address counts by its login_key, so no
    spelling of it (case, fullwidth letters, punycode or Unicode domain) gets its own.
    """
    key = login_key(address)
    try:
        await limits.reserve(
            {
                Rule.RESET_EMAIL: f"{key}|{client.address_key}",
                Rule.RESET_EMAIL_ALL_CLIENTS: key,
                Rule.RESET_IP: client.address_key,
            }
        )
    except RateLimited:
        return False
    return True


async def issue(
    db: AsyncSession, *, user: User, purpose: TokenPurpose, address: str | None = None
) -> IssuedToken:
    """A new token mailed to `address` (default: the current one); older ones of its purpose die."""
    address = address or user.email
    await token_revocation.discard(db, user=user, purpose=purpose)
    token = secrets.token_urlsafe(32)  # 256 bits
    now = utcnow()
    db.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            email=address,
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    await db.flush()
    return IssuedToken(purpose=purpose, email=address, token=token, lifetime=LIFETIMES[purpose])


async def _redeemable(
    db: AsyncSession, token: str, purpose: TokenPurpose
) -> tuple[AccountToken, User]:
    """The unused, unexpired token row and its active user, else INVALID (one answer for all)."""
    if not is_plausible_token(token):
        raise _invalid_token()
    row = await db.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == hash_token(token), AccountToken.purpose == purpose
        )
    )
    if row is None:
        raise _invalid_token()
    # The account's row is locked before its tokens are written (the one lock order), and
    # read under that lock, so what is checked below cannot change before the commit.
    user = await db.scalar(
        select(User)
        .where(User.id == row.user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user is None:
        raise _invalid_token()
    # A token mailed to an address the account no longer has (or no longer wants) proves
    # nothing; only a verification link may speak for the pending address.
    addresses = {user.email}
    if purpose is TokenPurpose.EMAIL_VERIFICATION and user.pending_email is not None:
        addresses.add(user.pending_email)
    if (
        row.used_at is not None
        or row.expires_at <= utcnow()
        or not user.is_active
        or row.email not in addresses
    ):
        raise _invalid_token()
    return row, user


async def _spend(db: AsyncSession, row: AccountToken) -> None:
    # Compare-and-set: of two concurrent uses of one token, exactly one wins.
    spent = await db.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rowcount(spent) != 1:
        raise _invalid_token()


def _invalid_token() -> InvalidInput:
    # Unknown, used, expired, superseded: one answer, so a token's history stays private.
    return InvalidInput(Subject.TOKEN, Reason.INVALID, "This link is invalid or has expired.")
