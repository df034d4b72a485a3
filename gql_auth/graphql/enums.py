"""The domain's enums as GraphQL enums, registered once, before any type or directive uses them.

Strawberry takes an enum's first use as its definition: registered later, one
enum would be two types. Every module that shows one imports it from here.
"""

from __future__ import annotations

import strawberry

from gql_auth.core.models import Role
from gql_auth.orgs.models import OrgRole

strawberry.enum(Role, name="Role", description="Roles in ascending order of privilege.")
strawberry.enum(
    OrgRole,
    name="OrgRole",
    description="Roles inside one organization, in ascending order of privilege.",
)

__all__ = ["OrgRole", "Role"]
