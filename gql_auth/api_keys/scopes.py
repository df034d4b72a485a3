"""What a key may do: a fixed vocabulary, each scope held only while the owner's role holds it.

Root fields declare the scope a key needs (graphql.permissions' KeyScope); a
field that declares none is closed to keys. A scope also names the global
role it needs: an ADMIN scope stops working the moment its owner is no
longer ADMIN, and access tokens list the scopes their session's role holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.core.models import Role


class Scope(StrEnum):
    PROFILE_READ = "profile:read"  # me, user
    DASHBOARD_READ = "dashboard:read"  # userDashboard
    ORGANIZATIONS_READ = "organizations:read"  # organizations, organization
    ORGANIZATIONS_WRITE = "organizations:write"  # organization mutations but switching
    ADMIN_READ = "admin:read"  # users, adminDashboard
    ADMIN_WRITE = "admin:write"  # setUserRole, setUserActive

    @property
    def role(self) -> Role:
        """The global role the owner must hold, now, for the scope to work."""
        return Role.ADMIN if self in _ADMIN_SCOPES else Role.USER


_ADMIN_SCOPES = frozenset({Scope.ADMIN_READ, Scope.ADMIN_WRITE})


def held_by(role: Role) -> tuple[Scope, ...]:
    """Every scope this role holds, in the vocabulary's order."""
    return tuple(scope for scope in Scope if role.includes(scope.role))


def grantable(requested: Iterable[str], *, role: Role) -> tuple[Scope, ...]:
    """The requested scopes, deduplicated in the vocabulary's order, or BAD_USER_INPUT on scopes.

    Unknown words and scopes the owner's role does not hold are refused, never
    dropped: a key must not quietly do less than its creator believes.
    """
    wanted = set(requested)
    if not wanted:
        raise InvalidInput(Subject.SCOPES, Reason.REQUIRED, "A key needs at least one scope.")
    unknown = sorted(wanted - set(Scope))
    if unknown:
        raise InvalidInput(Subject.SCOPES, Reason.INVALID, f"Unknown scopes: {', '.join(unknown)}.")
    beyond = [scope.value for scope in Scope if scope in wanted and not role.includes(scope.role)]
    if beyond:
        raise InvalidInput(
            Subject.SCOPES,
            Reason.SCOPE_NOT_HELD,
            f"Your role does not hold these scopes: {', '.join(beyond)}.",
        )
    return tuple(scope for scope in Scope if scope in wanted)


def parse_stored(value: str) -> tuple[Scope, ...]:
    """The scopes as stored (space-separated); words no longer in the vocabulary are dropped."""
    known = set(Scope)
    return tuple(Scope(word) for word in value.split() if word in known)
