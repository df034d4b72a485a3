"""Permission classes that guard fields, each shown in the SDL as a directive."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location

from gql_auth.accounts.accounts import parse_user_id
from gql_auth.api_keys.scopes import Scope, parse_stored
from gql_auth.core.errors import (
    Forbidden,
    MissingScope,
    MultiFactorSessionRequired,
    Unauthenticated,
)
from gql_auth.factors import factors
from gql_auth.graphql.context import Info
from gql_auth.graphql.enums import OrgRole, Role
from gql_auth.orgs import invitations, memberships
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


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="hasOrgRole",
    description="Only members holding this role (or a higher one) in the organization this "
    "field belongs to may use it, as the database has it now; on reads, a global ADMIN too.",
)
class HasOrgRoleDirective:
    role: OrgRole


class OrganizationOf(ABC):
    """Where a guarded field finds its organization, and so the caller's role there."""

    @abstractmethod
    async def role(
        self, source: Any, info: Info, viewer: Viewer, arguments: dict[str, Any]
    ) -> OrgRole | None: ...


class _Source(OrganizationOf):
    """A field of an Organization: the role was read with the organization, in this request."""

    async def role(
        self, source: Any, info: Info, viewer: Viewer, arguments: dict[str, Any]
    ) -> OrgRole | None:
        role: OrgRole | None = source.viewer_role
        return role


class _Argument(OrganizationOf):
    """A root field naming the organization's id in an argument (`input.organizationId`...)."""

    def __init__(self, *path: str) -> None:
        self._path = path

    async def role(
        self, source: Any, info: Info, viewer: Viewer, arguments: dict[str, Any]
    ) -> OrgRole | None:
        value: Any = arguments
        for step in self._path:
            value = value[step] if isinstance(value, dict) else getattr(value, step)
        organization_id = parse_user_id(str(value))  # ids are digits, like user ids
        if organization_id is None:
            return None
        # Never viewer.org_role: a switchOrganization earlier in the same document moves the
        # session's active organization, not the role the viewer read found for the old one.
        async with info.context.db() as db:
            return await memberships.role_of(
                db, organization_id=organization_id, user_id=viewer.user.id
            )


class _InvitationArgument(OrganizationOf):
    """revokeInvitation(id:): the organization the invitation belongs to."""

    async def role(
        self, source: Any, info: Info, viewer: Viewer, arguments: dict[str, Any]
    ) -> OrgRole | None:
        invitation_id = parse_user_id(str(arguments["id"]))
        if invitation_id is None:
            return None
        async with info.context.db() as db:
            organization_id = await invitations.organization_of(db, invitation_id)
            if organization_id is None:
                return None
            return await memberships.role_of(
                db, organization_id=organization_id, user_id=viewer.user.id
            )


THE_ORGANIZATION = _Source()
INVITATION = _InvitationArgument()


def organization_in(*path: str) -> OrganizationOf:
    """The organization an argument names; `path`: Python names, e.g. "input", "organization_id"."""
    return _Argument(*path)


class HasOrgRole(BasePermission):
    """At least `role` in the field's organization, read from the database on this request.

    Checked before the resolver; the policy decides again under the organization's
    row lock (a check before a lock is made again under it). A global ADMIN may
    read (`admin_reads`) any organization, but changes need a role in it.
    """

    def __init__(self, role: OrgRole, *, of: OrganizationOf, admin_reads: bool = False) -> None:
        self.role = role
        self.of = of
        self.admin_reads = admin_reads
        self._directive = HasOrgRoleDirective(role=role)

    @property
    def schema_directive(self) -> object:
        return self._directive

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = await require_viewer(info)
        held = await self.of.role(source, info, viewer, kwargs)
        if held is not None and held.includes(self.role):
            return True
        if self.admin_reads and viewer.user.role.includes(Role.ADMIN):
            require_admin_reach(info, viewer)
            return True
        raise Forbidden(f"This needs the {self.role.value} role in this organization.")


def guarded_by(*permissions: BasePermission) -> list[FieldExtension]:
    """Field extensions for `strawberry.field(extensions=...)` that also print directives."""
    return [PermissionExtension(list(permissions))]
