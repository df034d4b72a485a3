"""What the token mails say: plain text with one link to PUBLIC_URL, and a clear subject."""

from __future__ import annotations

from datetime import timedelta
from typing import assert_never

from gql_auth.accounts.mailed_tokens import IssuedToken
from gql_auth.accounts.models import TokenPurpose
from gql_auth.mail.sender import Mail
from gql_auth.orgs.invitations import IssuedInvitation


def token_mail(issued: IssuedToken, *, public_url: str) -> Mail:
    """The plain-text mail that carries a token as a link."""
    base = public_url.rstrip("/")
    lifetime = _duration(issued.lifetime)
    purpose = issued.purpose
    match purpose:  # every purpose needs its own words: mypy refuses one left out
        case TokenPurpose.PASSWORD_RESET:
            return Mail(
                to=issued.email,
                subject="Reset your password",
                body=(
                    "Someone asked to reset the password of your account.\n\n"
                    f"To choose a new password, open this link within {lifetime}:\n\n"
                    f"{base}/reset-password?token={issued.token}\n\n"
                    "The link works once. If you did not ask for this, ignore this mail: "
                    "your password stays as it is.\n"
                ),
            )
        case TokenPurpose.EMAIL_VERIFICATION:
            return Mail(
                to=issued.email,
                subject="Confirm your e-mail address",
                body=(
                    "Please confirm that this is your e-mail address.\n\n"
                    f"Open this link within {lifetime}:\n\n"
                    f"{base}/verify-email?token={issued.token}\n\n"
                    "If you did not create an account or change your address, ignore this mail.\n"
                ),
            )
        case _:
            assert_never(purpose)


def invitation_mail(issued: IssuedInvitation, *, inviter: str, public_url: str) -> Mail:
    """The invitation: who invites, to what, and the link; the name is the organization's own."""
    base = public_url.rstrip("/")
    organization = issued.organization
    return Mail(
        to=issued.invitation.email,
        subject=f"You are invited to join {organization.name}",
        body=(
            f"{inviter} invited you to join the organization {organization.name} "
            f"({organization.slug}) as {issued.invitation.role.value}.\n\n"
            f"To accept, sign in with the account that has this e-mail address (verified) "
            f"and open this link within {_duration(issued.lifetime)}:\n\n"
            f"{base}/accept-invitation?token={issued.token}\n\n"
            "The link works once. If you do not know them, ignore this mail.\n"
        ),
    )


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes > 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes % 60:
        return f"{minutes} minutes"
    return "1 hour" if minutes == 60 else f"{minutes // 60} hours"
