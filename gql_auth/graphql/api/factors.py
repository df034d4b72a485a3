"""Root fields for the second factor: verifyMfa, and turning TOTP on and off."""

from __future__ import annotations

import strawberry

from gql_auth import signin
from gql_auth.factors import totp_enrollment
from gql_auth.graphql.api.inputs import SecondFactorInput, VerifyMfaInput
from gql_auth.graphql.api.signin import issued
from gql_auth.graphql.api.types import AuthPayload
from gql_auth.graphql.context import Info
from gql_auth.graphql.credentials import CredentialCheck, Secret
from gql_auth.graphql.permissions import IsAuthenticated, guarded_by, require_viewer


@strawberry.type(description="A new TOTP secret, for an authenticator app; off until confirmTotp.")
class TotpEnrollment:
    secret: str = strawberry.field(
        description="Base32 secret, for typing into an authenticator app."
    )
    otpauth_uri: str = strawberry.field(description="otpauth://totp/... URI.")
    qr_code_svg: str = strawberry.field(description="The URI as an SVG QR code.")

    @classmethod
    def from_enrollment(cls, enrollment: totp_enrollment.Enrollment) -> TotpEnrollment:
        return cls(
            secret=enrollment.secret,
            otpauth_uri=enrollment.otpauth_uri,
            qr_code_svg=enrollment.qr_code_svg,
        )


_SIGNED_IN = guarded_by(IsAuthenticated())


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Second step of a sign-in that answered MFA_REQUIRED: the mfaToken from "
        "that error and a TOTP code or an unused recovery code give the AuthPayload (its "
        'access token\'s amr is ["pwd", "otp"]). A wrong code and an unknown, expired or '
        "used mfaToken all give UNAUTHENTICATED/INVALID_CREDENTIALS; wrong codes count "
        "against RATE_LIMIT_MFA (RATE_LIMITED with retryAfter). A token works for one "
        "sign-in only.",
        extensions=[CredentialCheck(Secret.SECOND_FACTOR)],
    )
    async def verify_mfa(self, info: Info, input: VerifyMfaInput) -> AuthPayload:
        context = info.context
        async with context.db() as db:
            signed_in = await signin.with_second_factor(
                db,
                context.services.sign_in,
                mfa_token=input.mfa_token,
                code=input.code,
                client=context.client,
            )
        return issued(context, signed_in)

    @strawberry.mutation(
        description="Starts TOTP enrolment; nothing changes until confirmTotp. A wrong "
        "currentPassword is UNAUTHENTICATED/INVALID_CREDENTIALS and counts as a failed "
        "sign-in; BAD_USER_INPUT with reason ALREADY_ENABLED when TOTP is on (disableTotp "
        "first). Calling it again replaces a secret still waiting for confirmTotp. An account "
        "with a passkey needs a session that signed in with it: else FORBIDDEN with reason "
        "STEP_UP_REQUIRED.",
        extensions=[*_SIGNED_IN, CredentialCheck(Secret.PASSWORD)],
    )
    async def enroll_totp(self, info: Info, current_password: str) -> TotpEnrollment:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            enrollment = await totp_enrollment.enroll_totp(
                db,
                context.services.factors,
                user=viewer.user,
                session_id=viewer.session.id,
                current_password=current_password,
                client=context.client,
            )
        return TotpEnrollment.from_enrollment(enrollment)

    @strawberry.mutation(
        description="Turns TOTP on; returns 10 one-time recovery codes, shown only this once. "
        "The code must come from the secret of the last enrollTotp (within 15 minutes): "
        "BAD_USER_INPUT with field code, reason INVALID for a code that does not match, "
        "NOT_FOUND when no enrolment waits; reason ALREADY_ENABLED when TOTP is on. Wrong "
        "codes count against RATE_LIMIT_MFA. FORBIDDEN / STEP_UP_REQUIRED as for enrollTotp.",
        extensions=[*_SIGNED_IN, CredentialCheck(Secret.SECOND_FACTOR)],
    )
    async def confirm_totp(self, info: Info, code: str) -> list[str]:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            return await totp_enrollment.confirm_totp(
                db,
                context.services.factors,
                user=viewer.user,
                session_id=viewer.session.id,
                code=code,
                client=context.client,
            )

    @strawberry.mutation(
        description="Turns TOTP off and deletes the recovery codes. Needs the current "
        "password and a current code (or a recovery code): a wrong one is "
        "UNAUTHENTICATED/INVALID_CREDENTIALS. BAD_USER_INPUT with reason NOT_ENABLED when "
        "TOTP is off.",
        extensions=[*_SIGNED_IN, CredentialCheck(Secret.PASSWORD)],
    )
    async def disable_totp(self, info: Info, input: SecondFactorInput) -> bool:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            await totp_enrollment.disable_totp(
                db,
                context.services.factors,
                user=viewer.user,
                current_password=input.current_password,
                code=input.code,
                client=context.client,
            )
        return True

    @strawberry.mutation(
        description="Replaces every recovery code with 10 new ones, shown only this once. "
        "Needs the current password and a current code, like disableTotp, with the same "
        "errors.",
        extensions=[*_SIGNED_IN, CredentialCheck(Secret.PASSWORD)],
    )
    async def regenerate_recovery_codes(self, info: Info, input: SecondFactorInput) -> list[str]:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            return await totp_enrollment.regenerate_recovery_codes(
                db,
                context.services.factors,
                user=viewer.user,
                current_password=input.current_password,
                code=input.code,
                client=context.client,
            )
