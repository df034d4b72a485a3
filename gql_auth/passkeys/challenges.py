"""WebAuthn challenges in the database: single use, five minutes, bound to their flow.

In the database rather than process memory, so a ceremony begun on one worker
finishes on any other. Consuming is a DELETE whose row count says who won:
of two requests answering one challenge at once, exactly one gets it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.database import delete_expired, rowcount
from gql_auth.core.models import utcnow
from gql_auth.passkeys.models import ChallengePurpose, PasskeyChallenge

LIFETIME = timedelta(minutes=5)


def new_challenge_id() -> str:
    return secrets.token_urlsafe(32)  # 43 characters


# Expired challenges one issue drops at most (each issue adds one).
PRUNE_BATCH = 100


async def issue(
    db: AsyncSession,
    *,
    purpose: ChallengePurpose,
    challenge: str,
    user_id: int | None,
    discoverable: bool = False,
    user_handle: str | None = None,
) -> PasskeyChallenge:
    """Stores a challenge just handed out; expired ones are dropped on the way."""
    await prune_expired(db)
    now = utcnow()
    row = PasskeyChallenge(
        id=new_challenge_id(),
        purpose=purpose,
        challenge=challenge,
        user_id=user_id,
        discoverable=discoverable,
        user_handle=user_handle,
        created_at=now,
        expires_at=now + LIFETIME,
    )
    db.add(row)
    await db.flush()
    return row


async def consume_login(db: AsyncSession, *, challenge_id: str) -> PasskeyChallenge | None:
    """Takes a live sign-in challenge by its id, or None (unknown, used or expired)."""
    return await _consume(
        db,
        PasskeyChallenge.id == challenge_id,
        PasskeyChallenge.purpose == ChallengePurpose.LOGIN,
    )


async def consume_registration(
    db: AsyncSession, *, user_id: int, challenge: str
) -> PasskeyChallenge | None:
    """Takes the user's live registration challenge with this value, or None."""
    return await _consume(
        db,
        PasskeyChallenge.user_id == user_id,
        PasskeyChallenge.challenge == challenge,
        PasskeyChallenge.purpose == ChallengePurpose.REGISTRATION,
    )


async def _consume(db: AsyncSession, *conditions: ColumnElement[bool]) -> PasskeyChallenge | None:
    now = utcnow()
    row = await db.scalar(
        select(PasskeyChallenge).where(*conditions, PasskeyChallenge.expires_at > now).limit(1)
    )
    if row is None:
        return None
    db.expunge(row)  # a plain record from here: the DELETE below is the only write
    # The DELETE, not the read, decides: a parallel request that read the same row
    # waits on its lock and then deletes nothing.
    taken = await db.execute(
        delete(PasskeyChallenge)
        .where(PasskeyChallenge.id == row.id, PasskeyChallenge.expires_at > now)
        .execution_options(synchronize_session=False)
    )
    return row if rowcount(taken) == 1 else None


async def prune_expired(db: AsyncSession, *, batch: int = PRUNE_BATCH) -> int:
    """Deletes up to `batch` challenges nobody answered in time (bounded: one request never
    sweeps a backlog; each issue removes more than it adds)."""
    return await delete_expired(db, PasskeyChallenge.id, PasskeyChallenge.expires_at, batch=batch)
