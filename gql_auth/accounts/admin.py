"""User administration: listing with cursors, role changes and (de)activation."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import token_revocation
from gql_auth.accounts.accounts import parse_user_id
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import InvalidInput, OutOfRange, Reason, Subject
from gql_auth.core.models import Role
from gql_auth.security.validation import EMAIL_MAX
from gql_auth.sessions import endings as session_endings
from gql_auth.users.models import User
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, SessionEnd, user_data

MAX_PAGE_SIZE = 100
# A cursor holds at most an 18-digit id; anything longer is not ours.
_MAX_CURSOR_LENGTH = 32


@dataclass(frozen=True, slots=True)
class UserPage:
    users: Sequence[User]
    total_count: int
    has_next_page: bool


def encode_cursor(user_id: int) -> str:
    """Opaque to clients; it is the base64 of the id, so the order is stable."""
    return base64.urlsafe_b64encode(str(user_id).encode()).decode()


def decode_cursor(cursor: str) -> int:
    invalid = InvalidInput(
        Subject.CURSOR, Reason.INVALID, "This cursor is not one this API handed out."
    )
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise invalid
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        raise invalid from None
    user_id = parse_user_id(text)
    # Only the exact spelling we hand out: no padding games, no leading zeros.
    if user_id is None or encode_cursor(user_id) != cursor:
        raise invalid
    return user_id


async def list_users(
    db: AsyncSession,
    *,
    first: int,
    after: str | None = None,
    role: Role | None = None,
    search: str | None = None,
) -> UserPage:
    """One page in id order, and how many users match in all (two queries)."""
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise OutOfRange(Subject.PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    after_id = decode_cursor(after) if after is not None else None
    filters = _filters(role=role, search=search)
    after_filter = [User.id > after_id] if after_id is not None else []
    # One row more than asked tells whether there is a next page.
    page = select(User).where(*filters, *after_filter).order_by(User.id).limit(first + 1)
    rows = (await db.scalars(page)).all()
    total = await db.scalar(select(func.count()).select_from(User).where(*filters))
    return UserPage(users=rows[:first], total_count=total or 0, has_next_page=len(rows) > first)


def _filters(*, role: Role | None, search: str | None) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if role is not None:
        filters.append(User.role == role)
    term = (search or "").strip().lower()
    if len(term) > EMAIL_MAX:
        # Longer than any username or address: it cannot match, and SQLite caps LIKE patterns.
        raise InvalidInput(
            Subject.SEARCH, Reason.TOO_LONG, f"search must be at most {EMAIL_MAX} characters."
        )
    if "\x00" in term:
        # No name or address holds NUL; refused alike on every database (PostgreSQL's
        # text cannot hold it at all).
        raise InvalidInput(Subject.SEARCH, Reason.INVALID, "search must not contain NUL.")
    if term:
        # autoescape: '%', '_' and the escape character itself match only themselves.
        filters.append(
            or_(
                User.username_key.contains(term, autoescape=True),
                User.email.contains(term, autoescape=True),
            )
        )
    return filters


async def set_role(db: AsyncSession, *, user_id: str, role: Role, client: ClientInfo) -> User:
    """Changes a role; the change applies to existing tokens at their next request."""
    user = await _target(db, user_id)
    if user.role is role:
        return user
    if user.role is Role.ADMIN:
        await _keep_an_admin(db, user)
    previous, user.role = user.role, role
    audit.record(db, EventKind.ROLE_CHANGED, user_id=user.id, client=client)
    await outbox.emit(
        db, EventType.USER_ROLE_CHANGED, user_data(user) | {"previousRole": previous.value}
    )
    await db.flush()
    return user


async def set_active(db: AsyncSession, *, user_id: str, active: bool, client: ClientInfo) -> User:
    """(De)activates an account; deactivation revokes all its sessions and mailed links at once."""
    user = await _target(db, user_id)
    if user.is_active is active:
        return user
    if not active:
        if user.role is Role.ADMIN:
            await _keep_an_admin(db, user)
        # A reset link must not outlive the account's deactivation (nor wake it up later).
        await token_revocation.discard_all(db, user=user)
        await session_endings.revoke_all(db, user_id=user.id, reason=SessionEnd.ACCOUNT_DEACTIVATED)
    user.is_active = active
    kind = EventKind.ACCOUNT_ACTIVATED if active else EventKind.ACCOUNT_DEACTIVATED
    audit.record(db, kind, user_id=user.id, client=client)
    changed = EventType.USER_ACTIVATED if active else EventType.USER_DEACTIVATED
    await outbox.emit(db, changed, user_data(user))
    await db.flush()
    return user


async def _target(db: AsyncSession, user_id: str) -> User:
    parsed = parse_user_id(user_id)
    user = await db.get(User, parsed) if parsed is not None else None
    if user is None:
        raise InvalidInput(Subject.USER_ID, Reason.NOT_FOUND, "No such user.")
    return user


async def _keep_an_admin(db: AsyncSession, user: User) -> None:
    """Refuses to take away the last active ADMIN; only that admin can be the one asking."""
    if not user.is_active:
        return
    # FOR UPDATE: two admins demoting each other at once cannot both see "one more left".
    admins = (
        await db.scalars(
            select(User.id)
            .where(User.role == Role.ADMIN, User.is_active.is_(True))
            .with_for_update()
        )
    ).all()
    if len(admins) <= 1:
        raise InvalidInput(
            Subject.USER_ID,
            Reason.LAST_ADMIN,
            "This is the last active admin; promote another user to ADMIN first.",
        )
