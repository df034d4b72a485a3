"""Root fields for operators: the user list, role changes and (de)activation. ADMIN only."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gql_auth.accounts import admin
from gql_auth.api_keys.scopes import Scope
from gql_auth.core.models import Role
from gql_auth.graphql.api.inputs import given
from gql_auth.graphql.api.types import User, UserConnection
from gql_auth.graphql.context import Info
from gql_auth.graphql.key_scopes import KeyScope
from gql_auth.graphql.permissions import HasRole, IsAuthenticated, guarded_by

_ADMIN_ONLY = (IsAuthenticated(), HasRole(Role.ADMIN))


@strawberry.type
class Query:
    @strawberry.field(
        description="Users in id order, a page at a time. Role ADMIN. BAD_USER_INPUT with "
        "field first, reason OUT_OF_RANGE unless 1 <= first <= 100; field after, reason "
        "INVALID for a cursor this API did not hand out.",
        extensions=[*guarded_by(*_ADMIN_ONLY), KeyScope(Scope.ADMIN_READ)],
    )
    async def users(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1-100.")] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(description="endCursor of the previous page; omit to start."),
        ] = strawberry.UNSET,
        role: Annotated[
            Role | None, strawberry.argument(description="Only users holding exactly this role.")
        ] = strawberry.UNSET,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Plain text found anywhere in the username or e-mail, ignoring "
                "case; % and _ match only themselves."
            ),
        ] = strawberry.UNSET,
    ) -> UserConnection:
        async with info.context.db() as db:
            page = await admin.list_users(
                db, first=first, after=given(after), role=given(role), search=given(search)
            )
        return UserConnection.from_page(page)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Gives a user a role; it applies to their existing tokens at once. Role "
        "ADMIN. BAD_USER_INPUT with field userId: reason NOT_FOUND for an unknown id, "
        "LAST_ADMIN when this would demote the last active ADMIN.",
        extensions=[*guarded_by(*_ADMIN_ONLY), KeyScope(Scope.ADMIN_WRITE)],
    )
    async def set_user_role(self, info: Info, user_id: strawberry.ID, role: Role) -> User:
        async with info.context.db() as db:
            row = await admin.set_role(
                db, user_id=str(user_id), role=role, client=info.context.client
            )
        return User.from_row(row)

    @strawberry.mutation(
        description="Activates or deactivates an account. Deactivation revokes all its "
        "sessions at once and its tokens stop working on their next request; its unused "
        "reset and verification links are deleted and a pending e-mail change is dropped. "
        "Role ADMIN. "
        "BAD_USER_INPUT with field userId: reason NOT_FOUND for an unknown id, LAST_ADMIN "
        "when this would deactivate the last active ADMIN.",
        extensions=[*guarded_by(*_ADMIN_ONLY), KeyScope(Scope.ADMIN_WRITE)],
    )
    async def set_user_active(self, info: Info, user_id: strawberry.ID, active: bool) -> User:
        async with info.context.db() as db:
            row = await admin.set_active(
                db, user_id=str(user_id), active=active, client=info.context.client
            )
        return User.from_row(row)
