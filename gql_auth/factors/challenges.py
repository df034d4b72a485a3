"""The mfaToken between a correct password and verifyMfa: opaque, single use, five minutes.

Stored only as its SHA-256, bound to the account and to the password hash
it was issued under (a password change or reset voids it). verifyMfa opens
it under the user's row lock and deletes it once the code passed, so of two
requests with one token at most one gets a session.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.database import rowcount
from gql_auth.core.models import utcnow
from gql_auth.factors.models import MfaChallenge
from gql_auth.security.tokens import hash_token, is_plausible_token, new_refresh_token
from gql_auth.users.locks import lock_user
from gql_auth.users.models import User

LIFETIME = timedelta(minutes=5)


def _fingerprint(user: User) -> str:
    # An account without a password has one fingerprint until it sets one.
    return hash_token(user.password_hash or "")


async def issue(db: AsyncSession, *, user: User, first_factor: str = "pwd") -> str:
    """A new token for a user whose first factor just checked out; only its hash is kept.

    `first_factor` is that check's amr (pwd, or fed after a social sign-in):
    verifyMfa's session says what was proved, never a password that was not.
    """
    await lock_user(db, user.id)  # before inserting a row that refers to the user
    now = utcnow()
    await db.execute(
        delete(MfaChallenge)
        .where(MfaChallenge.user_id == user.id, MfaChallenge.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    token = new_refresh_token()  # 256 random bits, like a refresh token
    db.add(
        MfaChallenge(
            user_id=user.id,
            token_hash=hash_token(token),
            password_fingerprint=_fingerprint(user),
            first_factor=first_factor,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    await db.flush()
    return token


async def open_for(db: AsyncSession, token: str) -> tuple[MfaChallenge, User] | None:
    """The live challenge of this token and its active user, with the user's row locked.

    Read once to find the user, then again after taking the lock: a locking
    transaction sees the latest commit, so a token a parallel request just
    used is gone by then. None for unknown, expired, used or voided tokens.
    """
    if not is_plausible_token(token):
        return None
    token_hash = hash_token(token)
    user_id = await db.scalar(
        select(MfaChallenge.user_id).where(MfaChallenge.token_hash == token_hash)
    )
    if user_id is None:
        return None
    await lock_user(db, user_id)
    challenge = await db.scalar(
        select(MfaChallenge)
        .where(MfaChallenge.token_hash == token_hash)
        .execution_options(populate_existing=True)
    )
    user = await db.get(User, user_id, populate_existing=True)
    if (
        challenge is None
        or challenge.expires_at <= utcnow()
        or user is None
        or not user.is_active
        or challenge.password_fingerprint != _fingerprint(user)
    ):
        return None
    return challenge, user


async def consume(db: AsyncSession, challenge: MfaChallenge) -> bool:
    """Deletes the challenge; False when another request already did (it lost the race)."""
    result = await db.execute(
        delete(MfaChallenge)
        .where(MfaChallenge.id == challenge.id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def delete_all(db: AsyncSession, *, user_id: int) -> int:
    result = await db.execute(
        delete(MfaChallenge)
        .where(MfaChallenge.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
