"""Root fields for API keys: the vocabulary, the caller's keys, creating and revoking one."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gql_auth.accounts.accounts import parse_user_id
from gql_auth.accounts.reauthentication import reauthenticate
from gql_auth.api_keys import keys
from gql_auth.api_keys.models import ApiKey as ApiKeyRow
from gql_auth.api_keys.scopes import Scope, parse_stored
from gql_auth.core.models import Role
from gql_auth.factors.factors import proved_a_factor, require_step_up
from gql_auth.graphql.api.inputs import CreateApiKeyInput, given
from gql_auth.graphql.context import Info
from gql_auth.graphql.credentials import CredentialCheck, Secret
from gql_auth.graphql.permissions import (
    HasRole,
    IsAuthenticated,
    guarded_by,
    require_admin_session,
    require_viewer,
)


@strawberry.type(
    description="A key for a machine client: sent as `Authorization: Bearer <secret>`."
)
class ApiKey:
    id: strawberry.ID = strawberry.field(description="Pass it to `revokeApiKey(id:)`.")
    name: str = strawberry.field(description="The label given at creation.")
    prefix: str = strawberry.field(
        description='The first characters of the secret (e.g. "gqa_3kF9"), to tell keys apart.'
    )
    scopes: list[str] = strawberry.field(description="What the key may do (see apiKeyScopes).")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    expires_at: datetime | None = strawberry.field(description="Null: never expires.")
    last_used_at: datetime | None = strawberry.field(
        description="Last request made with it; updated at most about once a minute."
    )

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            prefix=row.prefix,
            scopes=[scope.value for scope in parse_stored(row.scopes)],
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type(description="A new API key and its secret, which is shown only this once.")
class CreatedApiKey:
    api_key: ApiKey = strawberry.field(description="The key as lists show it.")
    secret: str = strawberry.field(
        description='The whole key, shown only this once: "gqa_" + random + checksum. Only its '
        "SHA-256 is stored."
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="The caller's live API keys, newest first. Not open to API keys.",
        extensions=guarded_by(IsAuthenticated()),
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        viewer = await require_viewer(info)
        async with info.context.db() as db:
            rows = await keys.list_for(db, user_id=viewer.user.id)
        return [ApiKey.from_row(row) for row in rows]

    @strawberry.field(
        description="Any user's live API keys, newest first: for ADMINs. Not open to API keys.",
        extensions=guarded_by(IsAuthenticated(), HasRole(Role.ADMIN)),
    )
    async def user_api_keys(self, info: Info, user_id: strawberry.ID) -> list[ApiKey]:
        owner_id = parse_user_id(str(user_id))
        if owner_id is None:
            return []
        async with info.context.db() as db:
            rows = await keys.list_for(db, user_id=owner_id)
        return [ApiKey.from_row(row) for row in rows]

    @strawberry.field(description="Every scope an API key may be given (public).")
    def api_key_scopes(self) -> list[str]:
        return [scope.value for scope in Scope]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Creates a key that acts as the caller within its scopes; the secret is in "
        "the answer only. Needs currentPassword when the account has one (a wrong one is "
        "UNAUTHENTICATED / INVALID_CREDENTIALS and counts as a failed sign-in), else a session "
        "signed in within ten minutes; an account with a second factor or a passkey needs a "
        "session that proved one (FORBIDDEN / STEP_UP_REQUIRED). BAD_USER_INPUT with field "
        "scopes (REQUIRED, INVALID, SCOPE_NOT_HELD), name or expiresInDays; LIMIT_REACHED "
        "beyond MAX_API_KEYS_PER_USER live keys. Not open to API keys.",
        extensions=[*guarded_by(IsAuthenticated()), CredentialCheck(Secret.PASSWORD)],
    )
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreatedApiKey:
        viewer = await require_viewer(info)
        context = info.context
        session = viewer.session
        async with context.db() as db:
            await reauthenticate(
                db,
                context.services.hasher,
                context.services.rate_limits,
                user=viewer.user,
                session_id=session.id,
                current_password=given(input.current_password),
                client=context.client,
            )
            await require_step_up(db, user_id=viewer.user.id, session_id=session.id)
            created = await keys.create(
                db,
                user=viewer.user,
                name=input.name,
                scopes=input.scopes,
                expires_in_days=given(input.expires_in_days),
                max_keys=context.settings.max_api_keys_per_user,
                created_with_factor=proved_a_factor(session.methods),
                client=context.client,
            )
        return CreatedApiKey(api_key=ApiKey.from_row(created.row), secret=created.secret)

    @strawberry.mutation(
        description="Takes effect at the next request, on every worker and host. True when a "
        "live key stopped working now; false for an unknown, revoked or expired id. An ADMIN "
        "may revoke any user's key. Not open to API keys.",
        extensions=guarded_by(IsAuthenticated()),
    )
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> bool:
        viewer = await require_viewer(info)
        key_id = parse_user_id(str(id))  # ids are digits, like user ids
        if key_id is None:
            return False
        client = info.context.client
        async with info.context.db() as db:
            # One's own key first: taking it out of use is no use of the ADMIN role, so
            # ADMIN_REQUIRES_MFA must not stand between an ADMIN and their leaked key.
            if await keys.revoke(db, key_id=key_id, owner_id=viewer.user.id, client=client):
                return True
        if not viewer.user.role.includes(Role.ADMIN):
            return False
        require_admin_session(info, viewer)  # another user's key: the ADMIN role's
        async with info.context.db() as db:
            return await keys.revoke(db, key_id=key_id, owner_id=None, client=client)
