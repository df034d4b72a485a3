"""Query root: the caller, dashboards and public profiles."""

from __future__ import annotations

import strawberry

from gql_auth import dashboards
from gql_auth.accounts import accounts
from gql_auth.api_keys.scopes import Scope
from gql_auth.core.models import Role
from gql_auth.graphql.api.types import AdminDashboard, User
from gql_auth.graphql.api.user_dashboard import UserDashboard
from gql_auth.graphql.context import Info
from gql_auth.graphql.key_scopes import KeyScope
from gql_auth.graphql.permissions import HasRole, IsAuthenticated, guarded_by, require_viewer


@strawberry.type
class Query:
    @strawberry.field(
        description="The signed-in user. UNAUTHENTICATED without a valid token.",
        extensions=[*guarded_by(IsAuthenticated()), KeyScope(Scope.PROFILE_READ)],
    )
    async def me(self, info: Info) -> User:
        viewer = await require_viewer(info)
        return User.from_row(viewer.user)

    @strawberry.field(
        description="The caller's account, sessions and recent security events. "
        "Role USER or above.",
        extensions=[
            *guarded_by(IsAuthenticated(), HasRole(Role.USER)),
            KeyScope(Scope.DASHBOARD_READ),
        ],
    )
    async def user_dashboard(self, info: Info) -> UserDashboard:
        viewer = await require_viewer(info)
        return UserDashboard(viewer=viewer, user=User.from_row(viewer.user))

    @strawberry.field(
        description="Counts for operators. Role ADMIN; FORBIDDEN for others.",
        extensions=[
            *guarded_by(IsAuthenticated(), HasRole(Role.ADMIN)),
            KeyScope(Scope.ADMIN_READ),
        ],
    )
    async def admin_dashboard(self, info: Info) -> AdminDashboard:
        async with info.context.db() as db:
            return AdminDashboard.from_stats(await dashboards.admin_stats(db))

    @strawberry.field(
        description="Public profile; null when no such user.",
        extensions=[KeyScope(Scope.PROFILE_READ)],
    )
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        user_id = accounts.parse_user_id(str(id))
        if user_id is None:
            return None
        async with info.context.db() as db:
            row = await accounts.get_user(db, user_id)
        return User.from_row(row) if row else None
