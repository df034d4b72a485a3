"""One-time recovery codes for a lost authenticator: ten at a time, shown once, kept as hashes.

Not password resets (that is accounts/mailed_tokens.py). Each code carries 80 random bits,
so a fast hash (SHA-256, as for refresh tokens) is enough: there is nothing
to brute-force. Spending one is a compare-and-set on its row, so two
requests with the same code cannot both pass.
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.database import rowcount
from gql_auth.core.models import utcnow
from gql_auth.factors.models import RecoveryCode
from gql_auth.security.tokens import hash_token

COUNT = 10
_BYTES = 10  # 80 bits: 16 base32 characters
_LENGTH = 16
_GROUP = 4
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def _new_compact() -> str:
    return base64.b32encode(secrets.token_bytes(_BYTES)).decode("ascii")


def shown(compact: str) -> str:
    """As the user gets it: lower case in groups of four, e.g. "k7dq-2mxa-vb4r-p3ne"."""
    lower = compact.lower()
    return "-".join(lower[i : i + _GROUP] for i in range(0, _LENGTH, _GROUP))


def normalized(code: str) -> str | None:
    """The code as stored (upper case, no dashes or spaces), or None when it cannot be one."""
    compact = "".join(code.split()).replace("-", "").upper()
    if len(compact) != _LENGTH or not set(compact) <= _ALPHABET:
        return None
    return compact


async def replace_all(db: AsyncSession, *, user_id: int) -> list[str]:
    """Deletes the user's codes and makes COUNT new ones; the clear codes exist only in the answer.

    The caller holds the user's row lock (gql_auth.users.locks.lock_user).
    """
    await delete_all(db, user_id=user_id)
    compacts = [_new_compact() for _ in range(COUNT)]
    now = utcnow()
    for compact in compacts:
        db.add(RecoveryCode(user_id=user_id, code_hash=hash_token(compact), created_at=now))
    await db.flush()
    return [shown(compact) for compact in compacts]


async def redeem(db: AsyncSession, *, user_id: int, code: str) -> bool:
    """Spends an unused code of this user; False when there is none such."""
    compact = normalized(code)
    if compact is None:
        return False
    # Compare-and-set: of two requests with one code, one changes the row and one nothing.
    result = await db.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == hash_token(compact),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def count_left(db: AsyncSession, *, user_id: int) -> int:
    statement = select(func.count()).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return int(await db.scalar(statement) or 0)


async def delete_all(db: AsyncSession, *, user_id: int) -> int:
    result = await db.execute(
        delete(RecoveryCode)
        .where(RecoveryCode.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
