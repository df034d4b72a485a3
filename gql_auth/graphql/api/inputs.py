"""GraphQL input types; validation rules live in gql_auth.security.validation, not here."""

from __future__ import annotations

from typing import TypeVar

import strawberry

from gql_auth.graphql.enums import OrgRole

T = TypeVar("T")


def given(value: T | None) -> T | None:
    """An optional argument or input field left out (UNSET) means the same as null; declared
    with UNSET as its default, the SDL shows no `= null`."""
    return None if value is strawberry.UNSET else value


@strawberry.input(description="A new account. Everybody registers as USER; there is no role here.")
class RegisterInput:
    username: str = strawberry.field(
        description="3-32 characters: letters, digits, '_', '.', '-'. Unique, ignoring case."
    )
    email: str = strawberry.field(
        description="Stored lower-cased. Unique, ignoring case and look-alike spellings "
        "(fullwidth letters, punycode); accents count (josé@ and jose@ are two addresses)."
    )
    password: str = strawberry.field(
        description="At least PASSWORD_MIN_LENGTH (default 8) and at most 256 characters; "
        "common or easily guessed passwords are refused (TOO_COMMON)."
    )


@strawberry.input(description="Credentials for `login`; the same error for every wrong part.")
class LoginInput:
    username: str = strawberry.field(
        description="A username or an email address, compared case-insensitively."
    )
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(
    description="The current password (a wrong one counts as a failed sign-in) and a new one."
)
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="Same rules as at registration.")


@strawberry.input(description="A new password, authorised by the token from a reset mail.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token from the link in the mail.")
    new_password: str = strawberry.field(description="Same rules as at registration.")


@strawberry.input(description="Profile changes; an omitted (or null) field is left as it is.")
class UpdateProfileInput:
    username: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Same rules as at registration; unique, ignoring case.",
    )
    email: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Becomes pendingEmail; replaces email only once its verification link "
        "(mailed to the new address) is used. The current address is told, with no link. "
        "Giving the current address withdraws a pending change.",
    )
    current_password: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required to change username or email; missing is BAD_USER_INPUT with "
        "field currentPassword, reason REQUIRED; a wrong one is UNAUTHENTICATED / "
        "INVALID_CREDENTIALS and counts as a failed sign-in.",
    )


@strawberry.input(description="The second step of a sign-in that answered MFA_REQUIRED.")
class VerifyMfaInput:
    mfa_token: str = strawberry.field(
        description="From the MFA_REQUIRED error of login; single use, valid 5 minutes."
    )
    code: str = strawberry.field(
        description="A TOTP code or an unused recovery code (dashes and spaces are ignored)."
    )


@strawberry.input(description="Proof for turning TOTP off or re-keying recovery codes.")
class SecondFactorInput:
    current_password: str = strawberry.field(
        description="The password in use now; a wrong one counts as a failed sign-in."
    )
    code: str = strawberry.field(description="A current TOTP code (or a recovery code).")


@strawberry.input(description="A new passkey, as the browser created it.")
class FinishPasskeyRegistrationInput:
    credential: str = strawberry.field(
        description="PublicKeyCredential.toJSON() as a string. One that does not answer the "
        "caller's latest challenge, or fails verification, is BAD_USER_INPUT with field "
        "credential, reason INVALID; one already registered, reason TAKEN."
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A label to tell passkeys apart; at most 64 characters.",
    )


@strawberry.input(description="The answer to a `beginPasskeyLogin` challenge.")
class FinishPasskeyLoginInput:
    challenge_id: str = strawberry.field(description="From `beginPasskeyLogin`.")
    credential: str = strawberry.field(
        description="PublicKeyCredential.toJSON() as a string, from navigator.credentials.get."
    )


@strawberry.input(description="Where social sign-in starts: a provider and where it sends back.")
class BeginSocialSignInInput:
    provider: str = strawberry.field(description="A provider id from signInProviders.")
    redirect_uri: str = strawberry.field(
        description="Where the provider sends the browser back; must be one of "
        "OAUTH_REDIRECT_URIS, exactly."
    )


@strawberry.input(description="What the provider sent back to the redirect URI.")
class FinishSocialSignInInput:
    state: str = strawberry.field(
        description="The state that beginSocialSignIn returned (and the provider sent back)."
    )
    code: str = strawberry.field(description="The authorization code the provider sent back.")


@strawberry.input(description="Linking a provider to the signed-in account, step 1.")
class BeginSocialLinkInput:
    provider: str = strawberry.field(description="A provider id from signInProviders.")
    redirect_uri: str = strawberry.field(
        description="Where the provider sends the browser back; one of OAUTH_REDIRECT_URIS."
    )
    current_password: str | None = strawberry.field(
        default=strawberry.UNSET, description="Required when the account has a password."
    )


@strawberry.input(description="A new organization; the caller becomes its OWNER.")
class CreateOrganizationInput:
    name: str = strawberry.field(description="1-100 characters; surrounding spaces are dropped.")
    slug: str = strawberry.field(
        description="Unique: 2-63 lower-case letters, digits and inner hyphens (a DNS label)."
    )


@strawberry.input(description="What to change about an organization; left out: unchanged.")
class UpdateOrganizationInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization to change.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="A new name.")
    slug: str | None = strawberry.field(default=strawberry.UNSET, description="A new, unused slug.")


@strawberry.input(description="Who to invite, and with which role.")
class InviteMemberInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization to join.")
    email: str = strawberry.field(
        description="Where the link goes; only the account whose verified address this is "
        "can accept it."
    )
    role: OrgRole = strawberry.field(
        default=OrgRole.MEMBER,
        description="The role accepting gives; only an OWNER invites OWNERs.",
    )


@strawberry.input(description="A member's new role in an organization.")
class SetMemberRoleInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    user_id: strawberry.ID = strawberry.field(description="The member.")
    role: OrgRole = strawberry.field(description="Their new role.")


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="1-100 characters, to recognise it by.")
    scopes: list[str] = strawberry.field(
        description="A subset of apiKeyScopes that the caller's role holds."
    )
    expires_in_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="1-3650; null: never expires."
    )
    current_password: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Required when the account has a password; a wrong one is UNAUTHENTICATED "
        "/ INVALID_CREDENTIALS.",
    )


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="Where events are POSTed. In production https on a public address "
        "(WEBHOOK_ALLOW_PRIVATE_URLS); at most 2048 characters."
    )
    event_types: list[str] = strawberry.field(
        default_factory=list,
        description="Types from webhookEventTypes to deliver here; empty: every type.",
    )


@strawberry.input(description="Changes to a webhook endpoint; fields left out stay as they are.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description="The endpoint to change.")
    url: str | None = strawberry.field(default=strawberry.UNSET, description="A new URL.")
    event_types: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="A new subscription; empty: every type."
    )
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="False stops deliveries: events meanwhile are not queued for it, and "
        "attempts already queued wait; true resumes them.",
    )
