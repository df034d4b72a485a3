"""Mailed tokens die with what they vouch for: a password, an active account, an address."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts.models import AccountToken, TokenPurpose
from gql_auth.users.locks import lock_user
from gql_auth.users.models import User


async def discard(db: AsyncSession, *, user: User, purpose: TokenPurpose | None = None) -> None:
    """Deletes the user's unused tokens (of one purpose, or all).

    The user's row is locked first, as on every path that writes an account's
    tokens or sessions: two of them (say, two background reset mails, or a
    reset and a new request) queue up instead of deadlocking on the token index.
    """
    await lock_user(db, user.id)
    statement = delete(AccountToken).where(AccountToken.user_id == user.id)
    if purpose is not None:
        statement = statement.where(AccountToken.purpose == purpose)
    await db.execute(statement.execution_options(synchronize_session=False))


async def discard_all(db: AsyncSession, *, user: User) -> None:
    """After a new password or a deactivation: no old link may still act on the account.

    A pending address change goes too. Its link may sit in an attacker's mailbox
    (they knew the password); resetting or changing the password must end that.
    """
    await discard(db, user=user)
    user.pending_email = None
