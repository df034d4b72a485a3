"""Permission classes for fields of one organization: the caller's role there, now.

Like HasRole, shown in the SDL (`@hasOrgRole`); unlike it, each field says
where its organization comes from (the Organization it belongs to, or an
argument), and the role is read from the database on every request.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.schema_directive import Location

from gql_auth.accounts.accounts import parse_user_id
from gql_auth.core.errors import Forbidden
from gql_auth.graphql.context import Info
from gql_auth.graphql.enums import OrgRole, Role
from gql_auth.graphql.permissions import require_admin_reach, require_viewer
from gql_auth.orgs import invitations
from gql_auth.orgs.locks import role_of
from gql_auth.sessions.sessions import Viewer


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
            return await role_of(db, organization_id=organization_id, user_id=viewer.user.id)


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
            return await role_of(db, organization_id=organization_id, user_id=viewer.user.id)


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
