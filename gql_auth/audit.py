"""Security events: what happened to an account, when and from where."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.client_info import ClientInfo
from gql_auth.models import SecurityEvent, utcnow


class EventKind(StrEnum):
    REGISTERED = "REGISTERED"
    LOGIN_SUCCEEDED = "LOGIN_SUCCEEDED"
    LOGIN_FAILED = "LOGIN_FAILED"
    LOGGED_OUT = "LOGGED_OUT"
    TOKEN_REFRESHED = "TOKEN_REFRESHED"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    PASSWORD_RESET = "PASSWORD_RESET"
    EMAIL_VERIFIED = "EMAIL_VERIFIED"
    ROLE_CHANGED = "ROLE_CHANGED"
    ACCOUNT_DEACTIVATED = "ACCOUNT_DEACTIVATED"
    ACCOUNT_ACTIVATED = "ACCOUNT_ACTIVATED"
    MFA_ENABLED = "MFA_ENABLED"
    MFA_DISABLED = "MFA_DISABLED"
    MFA_FAILED = "MFA_FAILED"
    RECOVERY_CODE_USED = "RECOVERY_CODE_USED"
    PASSKEY_ADDED = "PASSKEY_ADDED"
    PASSKEY_REMOVED = "PASSKEY_REMOVED"


def record(
    db: AsyncSession, kind: EventKind, *, user_id: int | None, client: ClientInfo
) -> SecurityEvent:
    """Adds the event to the request's transaction; it commits with the request."""
    event = SecurityEvent(
        user_id=user_id,
        kind=kind.value,
        at=utcnow(),
        ip_address=client.ip_address,
        user_agent=client.user_agent,
    )
    db.add(event)
    return event


async def recent_events(db: AsyncSession, *, user_id: int, limit: int) -> Sequence[SecurityEvent]:
    statement = (
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user_id)
        .order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())
        .limit(limit)
    )
    return (await db.scalars(statement)).all()
