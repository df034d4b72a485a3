"""Mutation root: registration and sign-in."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth import accounts, models, sessions
from gql_auth.graphql.context import Context, Info
from gql_auth.graphql.inputs import LoginInput, RegisterInput
from gql_auth.graphql.types import AuthPayload


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Creates a USER account and signs it in. Nobody can register as ADMIN. "
        "BAD_USER_INPUT (field, reason TOO_SHORT/TOO_LONG/INVALID/TOO_COMMON/TAKEN) "
        "creates nothing."
    )
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        context = info.context
        async with context.db() as db:
            user = await accounts.register(
                db,
                context.services.hasher,
                username=input.username,
                email=input.email,
                password=input.password,
                password_min_length=context.settings.password_min_length,
                client=context.client,
            )
            return await _start_session(context, db, user)

    @strawberry.mutation(
        description="Signs in with a username or e-mail and a password. A wrong password, an "
        "unknown user and a deactivated account all give UNAUTHENTICATED/INVALID_CREDENTIALS."
    )
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        context = info.context
        async with context.db() as db:
            user = await accounts.authenticate(
                db,
                context.services.hasher,
                login=input.username,
                password=input.password,
                client=context.client,
            )
            return await _start_session(context, db, user)


async def _start_session(context: Context, db: AsyncSession, user: models.User) -> AuthPayload:
    signed_in = await sessions.start(
        db,
        context.services.tokens,
        user=user,
        client=context.client,
        lifetime=context.services.refresh_lifetime,
    )
    return AuthPayload.from_signed_in(signed_in)
