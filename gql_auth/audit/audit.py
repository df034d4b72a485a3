"""Security events: what happened to an account, when and from where."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit.models import SecurityEvent
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.models import utcnow


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
    RECOVERY_CODES_REGENERATED = "RECOVERY_CODES_REGENERATED"
    EMAIL_CHANGE_REQUESTED = "EMAIL_CHANGE_REQUESTED"
    SOCIAL_SIGN_IN = "SOCIAL_SIGN_IN"
    IDENTITY_LINKED = "IDENTITY_LINKED"
    IDENTITY_UNLINKED = "IDENTITY_UNLINKED"
    ORGANIZATION_CREATED = "ORGANIZATION_CREATED"
    ORGANIZATION_DELETED = "ORGANIZATION_DELETED"
    MEMBER_INVITED = "MEMBER_INVITED"
    MEMBER_JOINED = "MEMBER_JOINED"
    MEMBER_ROLE_CHANGED = "MEMBER_ROLE_CHANGED"
    MEMBER_REMOVED = "MEMBER_REMOVED"
    API_KEY_CREATED = "API_KEY_CREATED"
    API_KEY_REVOKED = "API_KEY_REVOKED"


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event of a user, as plain values: readable after its session committed and closed."""

    kind: EventKind
    user_id: int


_RECORDED = "gql_auth.audit.recorded"  # the key in Session.info


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
    if user_id is not None:
        # Remembered on the session, so whoever commits it can act on what it holds (notices).
        db.info.setdefault(_RECORDED, []).append(Recorded(kind, user_id))
    return event


def recorded(db: AsyncSession) -> list[Recorded]:
    """The users' events recorded in this session so far, in order."""
    return list(db.info.get(_RECORDED, []))


async def recent_events(db: AsyncSession, *, user_id: int, limit: int) -> Sequence[SecurityEvent]:
    statement = (
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user_id)
        .order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())
        .limit(limit)
    )
    return (await db.scalars(statement)).all()
