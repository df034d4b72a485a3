"""Root fields for social sign-in: the providers, and the two halves of a sign-in with one."""

from __future__ import annotations

import strawberry

from gql_auth.graphql.api.inputs import (
    BeginSocialLinkInput,
    BeginSocialSignInInput,
    FinishSocialSignInInput,
    given,
)
from gql_auth.graphql.api.signin import issued
from gql_auth.graphql.api.types import AuthPayload, SocialIdentity
from gql_auth.graphql.context import Info
from gql_auth.graphql.credentials import CredentialCheck, Secret
from gql_auth.graphql.permissions import IsAuthenticated, guarded_by, require_viewer
from gql_auth.social import flow, linking
from gql_auth.social import signin as social_signin
from gql_auth.social.models import StatePurpose


@strawberry.type(description="An OpenID Connect provider that users may sign in with.")
class SignInProvider:
    id: strawberry.ID = strawberry.field(description='The name in OAUTH_PROVIDERS, e.g. "google".')
    display_name: str = strawberry.field(description="What a sign-in button should say.")


@strawberry.type(description="Where to send the browser to sign in with a provider.")
class SocialSignInStart:
    authorization_url: str = strawberry.field(
        description="The provider's authorization URL (with state, nonce and a PKCE S256 "
        "challenge)."
    )
    state: str = strawberry.field(
        description="Single use, 10 minutes; the client keeps it and compares it with the "
        "state that comes back to its redirect URI before calling finishSocialSignIn."
    )


@strawberry.type
class Query:
    @strawberry.field(description="The providers configured in OAUTH_PROVIDERS (public).")
    def sign_in_providers(self, info: Info) -> list[SignInProvider]:
        return [
            SignInProvider(id=strawberry.ID(provider.id), display_name=provider.display_name)
            for provider in info.context.services.social.providers.values()
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Social sign-in, step 1: where to send the browser. BAD_USER_INPUT with "
        "field provider (NOT_FOUND) or redirectUri (INVALID: not in OAUTH_REDIRECT_URIS); "
        "UNAUTHENTICATED / PROVIDER_UNAVAILABLE when the provider cannot be reached; "
        "RATE_LIMITED per client address."
    )
    async def begin_social_sign_in(
        self, info: Info, input: BeginSocialSignInInput
    ) -> SocialSignInStart:
        context = info.context
        async with context.db() as db:
            started = await flow.begin(
                db,
                context.services.social,
                provider_id=input.provider,
                redirect_uri=input.redirect_uri,
                purpose=StatePurpose.SIGN_IN,
                client=context.client,
            )
        return SocialSignInStart(authorization_url=started.authorization_url, state=started.state)

    @strawberry.mutation(
        description="Social sign-in, step 2: signs in the linked account, or creates one. May "
        "answer MFA_REQUIRED like login, or BAD_USER_INPUT / ACCOUNT_EXISTS when an account "
        "already holds the address and the provider is not trusted to link it. A bad, used "
        "or foreign state or code, or an ID token that does not check out, is "
        "UNAUTHENTICATED / INVALID_CREDENTIALS; an unreachable provider PROVIDER_UNAVAILABLE.",
        extensions=[CredentialCheck(Secret.AUTHORIZATION_CODE)],
    )
    async def finish_social_sign_in(
        self, info: Info, input: FinishSocialSignInInput
    ) -> AuthPayload:
        context = info.context
        async with context.db() as db:
            signed_in = await social_signin.with_provider(
                db,
                context.services.social,
                context.services.sign_in,
                state=input.state,
                code=input.code,
                client=context.client,
            )
        return issued(context, signed_in)

    @strawberry.mutation(
        description="Linking, step 1: where to send the browser to link a provider to the "
        "caller. Needs currentPassword when the account has one (a wrong one is "
        "UNAUTHENTICATED / INVALID_CREDENTIALS and counts as a failed sign-in); an account "
        "without one needs a session signed in within ten minutes. An account with a second "
        "factor or a passkey needs a session that proved one: else FORBIDDEN / "
        "STEP_UP_REQUIRED.",
        extensions=[*guarded_by(IsAuthenticated()), CredentialCheck(Secret.PASSWORD)],
    )
    async def begin_social_link(self, info: Info, input: BeginSocialLinkInput) -> SocialSignInStart:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            started = await linking.begin(
                db,
                context.services.social,
                context.services.hasher,
                user=viewer.user,
                session_id=viewer.session.id,
                provider_id=input.provider,
                redirect_uri=input.redirect_uri,
                current_password=given(input.current_password),
                client=context.client,
            )
        return SocialSignInStart(authorization_url=started.authorization_url, state=started.state)

    @strawberry.mutation(
        description="Linking, step 2: links the identity to the caller; only the session that "
        "began the link may finish it. An identity linked to another account is "
        "BAD_USER_INPUT / IDENTITY_TAKEN.",
        extensions=[*guarded_by(IsAuthenticated()), CredentialCheck(Secret.AUTHORIZATION_CODE)],
    )
    async def link_social_identity(
        self, info: Info, input: FinishSocialSignInInput
    ) -> SocialIdentity:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            row = await linking.link(
                db,
                context.services.social,
                user=viewer.user,
                session_id=viewer.session.id,
                state=input.state,
                code=input.code,
                client=context.client,
            )
            return SocialIdentity.from_row(row)

    @strawberry.mutation(
        description="Refused (BAD_USER_INPUT / LAST_SIGN_IN_METHOD) when it is the only way in. "
        "Re-authenticates like beginSocialLink; an id that is not one of the caller's is "
        "BAD_USER_INPUT with field id, reason NOT_FOUND.",
        extensions=[*guarded_by(IsAuthenticated()), CredentialCheck(Secret.PASSWORD)],
    )
    async def unlink_social_identity(
        self, info: Info, id: strawberry.ID, current_password: str | None = strawberry.UNSET
    ) -> bool:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            await linking.unlink(
                db,
                context.services.social,
                context.services.hasher,
                user=viewer.user,
                session_id=viewer.session.id,
                identity_id=str(id),
                current_password=given(current_password),
                client=context.client,
            )
        return True
