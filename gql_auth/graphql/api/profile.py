"""Mutation for the caller's own profile."""

from __future__ import annotations

import strawberry

from gql_auth.accounts import profile
from gql_auth.graphql.api.inputs import UpdateProfileInput
from gql_auth.graphql.api.mailed_tokens import mail_after_commit
from gql_auth.graphql.api.types import User
from gql_auth.graphql.context import Info
from gql_auth.graphql.credentials import CredentialCheck, Secret
from gql_auth.graphql.permissions import IsAuthenticated, guarded_by, require_viewer


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Changes the caller's username and/or e-mail; omitted fields stay as "
        "they are. Either change needs currentPassword. A new username applies at once; a "
        "new e-mail becomes pendingEmail, is mailed a confirmation link, and replaces email "
        "only when verifyEmail uses that link (the current address, if verified, gets a "
        "notice meanwhile; reset links keep going to it). Refusals are BAD_USER_INPUT with "
        "field username or email and reason TOO_SHORT, TOO_LONG, INVALID or TAKEN (compared "
        "ignoring case), or field currentPassword reason REQUIRED; a wrong currentPassword is "
        "UNAUTHENTICATED / INVALID_CREDENTIALS. Nothing changes on a refusal.",
        extensions=[*guarded_by(IsAuthenticated()), CredentialCheck(Secret.PASSWORD)],
    )
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> User:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            update = await profile.update_profile(
                db,
                context.services.hasher,
                context.services.rate_limits,
                user=viewer.user,
                username=_given(input.username),
                email=_given(input.email),
                current_password=_given(input.current_password),
                client=context.client,
            )
        mail_after_commit(context, update.verification)
        return User.from_row(update.user)


def _given(value: str | None) -> str | None:
    # Omitted (UNSET) and null both mean "leave it as it is"; "" is an (invalid) value.
    return None if value is strawberry.UNSET else value
