"""Mutations for passkeys: registering and deleting the caller's, and signing in with one."""

from __future__ import annotations

import strawberry

from gql_auth import signin
from gql_auth.graphql.api.inputs import FinishPasskeyLoginInput, FinishPasskeyRegistrationInput
from gql_auth.graphql.api.types import AuthPayload, Passkey, PasskeyChallenge
from gql_auth.graphql.context import Info
from gql_auth.graphql.credentials import CredentialCheck, Secret
from gql_auth.graphql.permissions import IsAuthenticated, guarded_by, require_viewer
from gql_auth.passkeys import login as passkey_login
from gql_auth.passkeys import passkeys


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="PublicKeyCredentialCreationOptions as JSON, for "
        "PublicKeyCredential.parseCreationOptionsFromJSON; the challenge is single use and "
        "valid 5 minutes, and the caller's passkeys are excluded. A wrong currentPassword is "
        "UNAUTHENTICATED / INVALID_CREDENTIALS and counts as a failed sign-in; at 20 passkeys "
        "BAD_USER_INPUT with field credential, reason TOO_MANY. An account that holds a second "
        "factor or a passkey needs a session that proved one (verifyMfa or a passkey "
        "sign-in): else FORBIDDEN with reason STEP_UP_REQUIRED.",
        extensions=[*guarded_by(IsAuthenticated()), CredentialCheck(Secret.PASSWORD)],
    )
    async def begin_passkey_registration(self, info: Info, current_password: str) -> str:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            return await passkeys.begin_registration(
                db,
                context.services.passkeys,
                user=viewer.user,
                session_id=viewer.session.id,
                current_password=current_password,
                client=context.client,
            )

    @strawberry.mutation(
        description="Verifies the browser's new credential against the caller's challenge "
        "(used up either way) and stores its public key. BAD_USER_INPUT with field "
        "credential (reason INVALID, or TAKEN when already registered) or name (TOO_LONG); "
        "FORBIDDEN / STEP_UP_REQUIRED as for beginPasskeyRegistration.",
        extensions=guarded_by(IsAuthenticated()),
    )
    async def finish_passkey_registration(
        self, info: Info, input: FinishPasskeyRegistrationInput
    ) -> Passkey:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            row = await passkeys.finish_registration(
                db,
                context.services.passkeys,
                user=viewer.user,
                session_id=viewer.session.id,
                credential=input.credential,
                name=None if input.name is strawberry.UNSET else input.name,
                client=context.client,
            )
        return Passkey.from_row(row)

    @strawberry.mutation(
        description="Begins a passkey sign-in. With a username (or e-mail), the options list "
        "that account's passkeys; an unknown name gets options just as plausible. Without "
        "one, any discoverable passkey may answer. RATE_LIMITED per client address."
    )
    async def begin_passkey_login(
        self, info: Info, username: str | None = strawberry.UNSET
    ) -> PasskeyChallenge:
        context = info.context
        async with context.db() as db:
            begun = await passkey_login.begin_login(
                db,
                context.services.passkeys,
                username=None if username is strawberry.UNSET else username,
                client=context.client,
            )
        return PasskeyChallenge(challenge_id=begun.challenge_id, options=begun.options)

    @strawberry.mutation(
        description="Signs in with the browser's answer to a beginPasskeyLogin challenge; no "
        "password and no second factor needed. An unknown, used or expired challenge, a "
        "passkey of another account or a deleted one, a bad signature, a sign counter that "
        "went back and a deactivated account all give UNAUTHENTICATED/INVALID_CREDENTIALS.",
        extensions=[CredentialCheck(Secret.PASSKEY_ASSERTION)],
    )
    async def finish_passkey_login(self, info: Info, input: FinishPasskeyLoginInput) -> AuthPayload:
        context = info.context
        async with context.db() as db:
            signed_in = await signin.with_passkey(
                db,
                context.services.sign_in,
                challenge_id=input.challenge_id,
                credential=input.credential,
                client=context.client,
            )
        context.vouch_for(signed_in.user.id)  # the caller just proved to be this user
        return AuthPayload.from_signed_in(signed_in)

    @strawberry.mutation(
        description="Deletes one of the caller's passkeys. Needs the current password and a "
        "session that proved a second factor or a passkey (else FORBIDDEN with reason "
        "STEP_UP_REQUIRED). A wrong currentPassword is UNAUTHENTICATED / INVALID_CREDENTIALS; "
        "an id that is not one of the caller's passkeys is BAD_USER_INPUT with field id, "
        "reason NOT_FOUND.",
        extensions=[*guarded_by(IsAuthenticated()), CredentialCheck(Secret.PASSWORD)],
    )
    async def delete_passkey(self, info: Info, id: strawberry.ID, current_password: str) -> bool:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            await passkeys.remove(
                db,
                context.services.passkeys,
                user=viewer.user,
                session_id=viewer.session.id,
                passkey_id=str(id),
                current_password=current_password,
                client=context.client,
            )
        return True
