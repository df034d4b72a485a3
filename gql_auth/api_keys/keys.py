"""Creating, listing and revoking API keys; the secret exists in clear only in the answer.

Creating one is a new way into the account, so the edge re-authenticates
first (the current password, Security III's step-up); here the cap of live
keys is checked under the owner's row lock, so parallel creations count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.api_keys.format import new_key, public_prefix
from gql_auth.api_keys.models import ApiKey
from gql_auth.api_keys.scopes import grantable
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import rowcount
from gql_auth.core.errors import Conflict, OutOfRange, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.security.tokens import hash_token
from gql_auth.security.validation import clean_label
from gql_auth.users.locks import lock_user
from gql_auth.users.models import User

NAME_MAX_LENGTH = 100
MAX_EXPIRES_IN_DAYS = 3650


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key's row and its secret, which is shown once and never stored."""

    row: ApiKey
    secret: str


async def create(
    db: AsyncSession,
    *,
    user: User,
    name: str,
    scopes: Sequence[str],
    expires_in_days: int | None,
    max_keys: int,
    created_with_factor: bool,
    client: ClientInfo,
) -> CreatedKey:
    """createApiKey after re-authentication: scopes the owner's role holds, within the cap."""
    label = clean_label(name, max_length=NAME_MAX_LENGTH)
    granted = grantable(scopes, role=user.role)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS:
        raise OutOfRange(Subject.EXPIRES_IN_DAYS, minimum=1, maximum=MAX_EXPIRES_IN_DAYS)
    await lock_user(db, user.id)  # parallel creations take turns: the cap holds
    now = utcnow()
    if await count_live(db, user_id=user.id, now=now) >= max_keys:
        raise Conflict(Reason.LIMIT_REACHED, f"A user may hold at most {max_keys} live API keys.")
    secret = new_key()
    row = ApiKey(
        user_id=user.id,
        name=label,
        prefix=public_prefix(secret),
        secret_hash=hash_token(secret),
        scopes=" ".join(granted),
        created_with_factor=created_with_factor,
        created_at=now,
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
    )
    db.add(row)
    await db.flush()
    audit.record(db, EventKind.API_KEY_CREATED, user_id=user.id, client=client)
    return CreatedKey(row, secret)


async def revoke(
    db: AsyncSession, *, key_id: int, owner_id: int | None, client: ClientInfo
) -> bool:
    """revokeApiKey: True when a live key stopped working now.

    `owner_id` None: any user's key (an ADMIN, an operator); else only that user's.
    The event goes in the owner's log, who is told of it.
    """
    conditions = [ApiKey.id == key_id, ApiKey.revoked_at.is_(None)]
    if owner_id is not None:
        conditions.append(ApiKey.user_id == owner_id)
    owner = await db.scalar(select(ApiKey.user_id).where(*conditions))
    if owner is None:
        return False
    await lock_user(db, owner)
    revoked = await db.execute(
        update(ApiKey)
        .where(*conditions)
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rowcount(revoked) != 1:
        return False
    audit.record(db, EventKind.API_KEY_REVOKED, user_id=owner, client=client)
    return True


async def count_live(db: AsyncSession, *, user_id: int, now: datetime) -> int:
    count = await db.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, *_live(now))
    )
    return int(count or 0)


async def list_for(db: AsyncSession, *, user_id: int) -> Sequence[ApiKey]:
    """The user's live keys, newest first."""
    rows = await db.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user_id, *_live(utcnow()))
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return rows.all()


async def list_all(db: AsyncSession) -> Sequence[tuple[ApiKey, User]]:
    """Every live key with its owner, by owner then age: for operators."""
    rows = await db.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(*_live(utcnow()))
        .order_by(User.id, ApiKey.id)
    )
    return [(key, user) for key, user in rows]


async def prune_ended(db: AsyncSession, *, before: datetime) -> int:
    """Deletes keys revoked or expired before `before` (gql-auth prune): no use can revive them."""
    result = await db.execute(
        delete(ApiKey)
        .where(or_(ApiKey.revoked_at < before, ApiKey.expires_at < before))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def _live(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))
