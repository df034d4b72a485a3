"""The event catalogue: every type a webhook may receive, what it means, and its `data`.

`data` names the user or organization concerned by its public identity; it
never holds a password, token, key or secret. The docs' event catalogue is
generated from this module (`make docs-reference`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from gql_auth.users.models import User

Data = Mapping[str, Any]


class EventType(StrEnum):
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_DEACTIVATED = "user.deactivated"
    USER_ACTIVATED = "user.activated"
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 - an event type, not a secret
    SESSION_CREATED = "session.created"
    SESSION_REVOKED = "session.revoked"
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_UPDATED = "organization.updated"
    ORGANIZATION_DELETED = "organization.deleted"
    MEMBER_ADDED = "member.added"
    MEMBER_UPDATED = "member.updated"
    MEMBER_REMOVED = "member.removed"
    ENDPOINT_DISABLED = "webhook.endpoint_disabled"


class SessionEnd(StrEnum):
    """Why a session was revoked (`session.revoked`'s `reason`)."""

    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"  # noqa: S105 - a reason, not a secret
    SESSION_LIMIT = "session_limit"
    CREDENTIALS_CHANGED = "credentials_changed"
    ACCOUNT_DEACTIVATED = "account_deactivated"


class Named(Protocol):
    """An organization as events name it (orgs/ sits above this package)."""

    id: int
    slug: str
    name: str


def user_identity(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "username": user.username, "email": user.email}


def user_data(user: User) -> dict[str, Any]:
    """The user as it is now: what a receiver keeping a users table needs."""
    return user_identity(user) | {
        "role": user.role.value,
        "active": user.is_active,
        "emailVerified": user.email_verified,
    }


def session_data(user: User, session_id: str, **details: Any) -> dict[str, Any]:
    return user_identity(user) | {"sessionId": session_id, **details}


def organization_data(organization: Named) -> dict[str, Any]:
    return {"id": str(organization.id), "slug": organization.slug, "name": organization.name}


def member_data(organization: Named, user: User, role: str) -> dict[str, Any]:
    return {
        "organization": organization_data(organization),
        "user": user_identity(user),
        "role": role,
    }


@dataclass(frozen=True, slots=True)
class Documented:
    when: str
    example: Data


_ALICE = {"id": "7", "username": "alice", "email": "alice@example.com"}
_ACME = {"id": "3", "slug": "acme", "name": "Acme"}
_ALICE_NOW = _ALICE | {"role": "USER", "active": True, "emailVerified": True}

CATALOGUE: dict[EventType, Documented] = {
    EventType.USER_CREATED: Documented(
        "An account was created: registration, a first social sign-in, or the CLI.",
        _ALICE_NOW | {"emailVerified": False},
    ),
    EventType.USER_UPDATED: Documented(
        "A profile changed: the username; the e-mail address once its link is followed "
        "(a first verification too: `emailVerified` turns true).",
        _ALICE_NOW,
    ),
    EventType.USER_ROLE_CHANGED: Documented(
        "An ADMIN (or the CLI) changed the user's global role.",
        _ALICE_NOW | {"role": "ADMIN", "previousRole": "USER"},
    ),
    EventType.USER_DEACTIVATED: Documented(
        "The account was deactivated: it can no longer sign in, its sessions are revoked.",
        _ALICE_NOW | {"active": False},
    ),
    EventType.USER_ACTIVATED: Documented("The account was activated again.", _ALICE_NOW),
    EventType.PASSWORD_CHANGED: Documented(
        "The password was changed by its owner (`reset: false`) or reset by mail (`true`).",
        _ALICE | {"reset": False},
    ),
    EventType.SESSION_CREATED: Documented(
        "A sign-in opened a session (registration included); `methods` as in the `amr` claim.",
        _ALICE | {"sessionId": "6f1c0e7a4b2d4c0f9a8e", "methods": ["pwd", "otp"]},
    ),
    EventType.SESSION_REVOKED: Documented(
        "A session ended before it expired; `reason`: "
        + ", ".join(f"`{reason.value}`" for reason in SessionEnd)
        + ".",
        _ALICE | {"sessionId": "6f1c0e7a4b2d4c0f9a8e", "reason": "logout"},
    ),
    EventType.ORGANIZATION_CREATED: Documented("An organization was created.", _ACME),
    EventType.ORGANIZATION_UPDATED: Documented(
        "An organization's name or slug changed.", _ACME | {"name": "Acme Inc."}
    ),
    EventType.ORGANIZATION_DELETED: Documented(
        "An organization was deleted, with its memberships and invitations.", _ACME
    ),
    EventType.MEMBER_ADDED: Documented(
        "A user joined an organization (an accepted invitation, creating it, or the CLI).",
        {"organization": _ACME, "user": _ALICE, "role": "MEMBER"},
    ),
    EventType.MEMBER_UPDATED: Documented(
        "A member's role in an organization changed.",
        {"organization": _ACME, "user": _ALICE, "role": "ADMIN", "previousRole": "MEMBER"},
    ),
    EventType.MEMBER_REMOVED: Documented(
        "A member left or was removed; `role` is the one they had.",
        {"organization": _ACME, "user": _ALICE, "role": "MEMBER"},
    ),
    EventType.ENDPOINT_DISABLED: Documented(
        "An endpoint whose every attempt failed for WEBHOOK_DISABLE_AFTER_DAYS was disabled.",
        {
            "id": "2",
            "url": "https://hooks.example.com/gql-auth",
            "failingSince": "2026-12-01T09:30:00Z",
        },
    ),
}
