"""The signed-in user's own dashboard: sessions, factors, identities, organizations, events."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gql_auth.audit import audit
from gql_auth.factors import second_factor
from gql_auth.graphql.api.organization_types import Organization
from gql_auth.graphql.api.types import (
    Passkey,
    SecurityEvent,
    Session,
    SocialIdentity,
    User,
    check_limit,
)
from gql_auth.graphql.context import Info
from gql_auth.orgs import organizations
from gql_auth.passkeys import passkeys
from gql_auth.sessions import sessions
from gql_auth.sessions.sessions import Viewer
from gql_auth.social import identities as social_identities


@strawberry.type(description="What the signed-in user sees about their own account.")
class UserDashboard:
    viewer: strawberry.Private[Viewer]
    user: User = strawberry.field(description="The caller, private fields included.")

    @strawberry.field(description="The caller's live sessions, newest first.")
    async def active_sessions(self, info: Info) -> list[Session]:
        async with info.context.db() as db:
            rows = await sessions.active_sessions(db, user_id=self.viewer.user.id)
        current = self.viewer.signed_in  # none for an API key
        return [Session.from_row(row, current_id=current.id if current else None) for row in rows]

    @strawberry.field(description="Whether sign-in asks for a TOTP code after the password.")
    async def totp_enabled(self, info: Info) -> bool:
        async with info.context.db() as db:
            state = await second_factor.status(db, user_id=self.viewer.user.id)
        return state.totp_enabled

    @strawberry.field(
        description="Unused recovery codes (0 when TOTP is off); regenerateRecoveryCodes "
        "makes ten new ones."
    )
    async def recovery_codes_left(self, info: Info) -> int:
        async with info.context.db() as db:
            state = await second_factor.status(db, user_id=self.viewer.user.id)
        return state.recovery_codes_left

    @strawberry.field(description="The caller's passkeys, oldest first.")
    async def passkeys(self, info: Info) -> list[Passkey]:
        async with info.context.db() as db:
            rows = await passkeys.list_for(db, user_id=self.viewer.user.id)
        return [Passkey.from_row(row) for row in rows]

    @strawberry.field(description="The caller's linked sign-in providers, oldest first.")
    async def identities(self, info: Info) -> list[SocialIdentity]:
        async with info.context.db() as db:
            rows = await social_identities.list_for(db, user_id=self.viewer.user.id)
        return [SocialIdentity.from_row(row) for row in rows]

    @strawberry.field(description="The caller's organizations with their role, oldest first.")
    async def organizations(self, info: Info) -> list[Organization]:
        async with info.context.db() as db:
            seen = await organizations.of_member(db, user_id=self.viewer.user.id)
        return [Organization.from_seen(one) for one in seen]

    @strawberry.field(description="Newest first; limit 1-100.")
    async def recent_events(
        self, info: Info, limit: Annotated[int, strawberry.argument(description="1-100.")] = 20
    ) -> list[SecurityEvent]:
        check_limit(limit)
        async with info.context.db() as db:
            rows = await audit.recent_events(db, user_id=self.viewer.user.id, limit=limit)
        return [SecurityEvent.from_row(row) for row in rows]
