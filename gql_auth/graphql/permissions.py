"""Permission classes that guard fields, each shown in the SDL as a directive."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location

from gql_auth.api_keys.scopes import Scope, parse_stored
from gql_auth.core.errors import (
    Forbidden,
    MissingScope,
    MultiFactorSessionRequired,
    Unauthenticated,
)
from gql_auth.factors import factors
from gql_auth.graphql.context import Info
from gql_auth.graphql.enums import Role
from gql_auth.sessions.sessions import Viewer


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="isAuthenticated",
    description="Only a signed-in, active user with a live session may read this field.",
)
class IsAuthenticatedDirective:
    pass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="hasRole",
    description="Only users holding this role (or a higher one) may read this field.",
)
class HasRoleDirective:
    role: Role


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="isSelfOrAdmin",
    description="Only the user this object describes, or an ADMIN, may read this field.",
)
class IsSelfOrAdminDirective:
    pass


async def require_viewer(info: Info) -> Viewer:
    """The caller, or UNAUTHENTICATED with the reason (expired, revoked, ...)."""
    authentication = await info.context.authentication()
    if authentication.viewer is None:
        raise authentication.failure or Unauthenticated()
    return authentication.viewer


# The checks raise domain errors instead of returning False: the reason
# (TOKEN_EXPIRED, FORBIDDEN, ...) is per request, and permission instances are
# shared by every request, so it cannot be stashed on them for on_unauthorized.


class IsAuthenticated(BasePermission):
    _schema_directive = IsAuthenticatedDirective()

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await require_viewer(info)
        return True


class HasRole(BasePermission):
    def __init__(self, role: Role) -> None:
        self.role = role
        self._directive = HasRoleDirective(role=role)

    @property
    def schema_directive(self) -> object:
        return self._directive

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = await require_viewer(info)
        # The role in the database now, not the one the token was issued with.
        if not viewer.user.role.includes(self.role):
            raise Forbidden(f"This field requires the {self.role.value} role.")
        if self.role.includes(Role.ADMIN):
            require_admin_session(info, viewer)
        return True


def require_admin_session(info: Info, viewer: Viewer) -> None:
    """ADMIN_REQUIRES_MFA: using the ADMIN role needs a session that proved a second factor.

    Read off the session row (its amr), like the role: never the token's claims.
    """
    if not info.context.settings.admin_requires_mfa:
        return
    key = viewer.api_key
    # A key counts as its creating session did: step-up made it prove one if the account had any.
    proved = (
        key.created_with_factor
        if key is not None
        else factors.proved_a_factor(viewer.session.methods)
    )
    if not proved:
        raise MultiFactorSessionRequired


def require_admin_reach(info: Info, viewer: Viewer) -> None:
    """An ADMIN reading what is not their own (another user's private fields, any organization).

    A key needs admin:read for it: the gate checks root fields only, so without this
    a key holding profile:read (`user`) or organizations:read would read any account
    or organization with its owner's ADMIN role.
    """
    key = viewer.api_key
    if key is not None and Scope.ADMIN_READ not in parse_stored(key.scopes):
        raise MissingScope(Scope.ADMIN_READ.value)
    require_admin_session(info, viewer)


class IsSelfOrAdmin(BasePermission):
    """For fields of a User: the source must expose `id`."""

    _schema_directive = IsSelfOrAdminDirective()

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        # A sign-in or a mailed token in this very request proved the caller to be this
        # user; the request's context says so, never the object being read.
        if info.context.vouches_for(str(source.id)):
            return True
        viewer = await require_viewer(info)
        if str(viewer.user.id) == str(source.id):
            return True
        if not viewer.user.role.includes(Role.ADMIN):
            raise Forbidden("Only this user or an admin may read this field.")
        require_admin_reach(info, viewer)  # reading another user's data is the ADMIN role's
        return True


def guarded_by(*permissions: BasePermission) -> list[FieldExtension]:
    """Field extensions for `strawberry.field(extensions=...)` that also print directives."""
    return [PermissionExtension(list(permissions))]
