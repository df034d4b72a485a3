"""Mutation root: registration and sign-in."""

from __future__ import annotations

import strawberry

from gql_auth import signin
from gql_auth.graphql.api.inputs import ChangePasswordInput, LoginInput, RegisterInput
from gql_auth.graphql.api.types import AuthPayload
from gql_auth.graphql.context import Context, Info
from gql_auth.graphql.credentials import CredentialCheck, Secret
from gql_auth.graphql.permissions import IsAuthenticated, guarded_by, require_viewer
from gql_auth.sessions import endings as session_endings
from gql_auth.sessions import rotation
from gql_auth.sessions.sessions import SignedIn


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
            signed_in = await signin.register(
                db,
                context.services.sign_in,
                username=input.username,
                email=input.email,
                password=input.password,
                client=context.client,
            )
        return issued(context, signed_in)

    @strawberry.mutation(
        description="Signs in with a username or e-mail and a password. A wrong password, an "
        "unknown user and a deactivated account all give UNAUTHENTICATED/INVALID_CREDENTIALS. "
        "The right password of an account with a second factor or a passkey gives "
        "UNAUTHENTICATED with reason MFA_REQUIRED and extensions.mfaMethods (TOTP, "
        "RECOVERY_CODE: verifyMfa with extensions.mfaToken finishes it; PASSKEY: a passkey "
        "sign-in does) and no tokens.",
        extensions=[CredentialCheck(Secret.PASSWORD)],
    )
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        context = info.context
        async with context.db() as db:
            signed_in = await signin.with_password(
                db,
                context.services.sign_in,
                login=input.username,
                password=input.password,
                client=context.client,
            )
        return issued(context, signed_in)

    @strawberry.mutation(
        description="Rotates the refresh token: the old one stops working. Presenting an "
        "already-rotated token revokes that whole session (reuse detection). "
        "UNAUTHENTICATED with reason TOKEN_INVALID, TOKEN_EXPIRED or TOKEN_REVOKED."
    )
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        context = info.context
        async with context.db() as db:
            signed_in = await rotation.refresh(
                db, context.services.tokens, refresh_token=refresh_token, client=context.client
            )
        return issued(context, signed_in)

    @strawberry.mutation(
        description="Revokes the session that the refresh token belongs to. Idempotent: "
        "true for an unknown or already revoked token too."
    )
    async def logout(self, info: Info, refresh_token: str) -> bool:
        async with info.context.db() as db:
            await session_endings.logout(
                db, refresh_token=refresh_token, client=info.context.client
            )
        return True

    @strawberry.mutation(
        description="Revokes every session of the caller, this one included; returns how many.",
        extensions=guarded_by(IsAuthenticated()),
    )
    async def logout_all(self, info: Info) -> int:
        viewer = await require_viewer(info)
        async with info.context.db() as db:
            return await session_endings.logout_everywhere(
                db, user_id=viewer.user.id, client=info.context.client
            )

    @strawberry.mutation(
        description="Revokes every other session and returns fresh tokens. A wrong current "
        "password is UNAUTHENTICATED/INVALID_CREDENTIALS and counts as a failed sign-in; "
        "a refused new password is BAD_USER_INPUT with field newPassword.",
        extensions=[*guarded_by(IsAuthenticated()), CredentialCheck(Secret.PASSWORD)],
    )
    async def change_password(self, info: Info, input: ChangePasswordInput) -> AuthPayload:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            signed_in = await signin.change_password(
                db,
                context.services.sign_in,
                user=viewer.user,
                current_password=input.current_password,
                new_password=input.new_password,
                client=context.client,
                proven=viewer.session.methods,
            )
        return issued(context, signed_in)


def issued(context: Context, signed_in: SignedIn) -> AuthPayload:
    """The caller just proved to be this user: the payload shows its private fields."""
    context.vouch_for(signed_in.user.id)
    return AuthPayload.from_signed_in(signed_in)
