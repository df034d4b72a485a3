"""Mailed tokens die with what they vouch for: a password, an active account, an address."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.models import AccountToken, TokenPurpose, User


async def lock_account(db: AsyncSession, *, user: User) -> None:
    """Locks the user's row before any of its tokens (MySQL/MariaDB; SQLite has one writer).

    Every path that writes an account's tokens takes this lock first, so two of
    them (say, two background reset mails, or a reset and a new request) queue
    up instead of deadlocking on the token index.
    """
    await db.execute(select(User.id).where(User.id == user.id).with_for_update())


async def discard(db: AsyncSession, *, user: User, purpose: TokenPurpose | None = None) -> None:
    """Deletes the user's unused tokens (of one purpose, or all)."""
    await lock_account(db, user=user)
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
