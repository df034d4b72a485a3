"""Mutations for forgotten passwords and e-mail verification; mails go out after commit."""

from __future__ import annotations

import strawberry

from gql_auth.accounts import mailed_tokens
from gql_auth.accounts.mailed_tokens import IssuedToken
from gql_auth.graphql.api.inputs import ResetPasswordInput
from gql_auth.graphql.api.types import User
from gql_auth.graphql.context import Context, Info
from gql_auth.graphql.credentials import CredentialCheck, Secret
from gql_auth.graphql.permissions import IsAuthenticated, guarded_by, require_viewer
from gql_auth.mail.sender import Mail
from gql_auth.mail.templates import token_mail


def mail_after_commit(context: Context, issued: IssuedToken | None) -> None:
    """Sends the token's mail only once the token is saved; never inside the request."""
    if issued is None:
        return
    mail = token_mail(issued, public_url=context.settings.public_url)
    context.after_commit(lambda: context.services.mailer.send_later(mail))


def reset_after_response(context: Context, address: str) -> None:
    """Looks the address up and mails a link in the background, in a transaction of its own.

    The response is the same and takes the same time whether the address is known:
    the work that would tell runs after it, and its failures only reach the log.
    """
    services = context.services

    async def compose() -> Mail | None:
        async with services.session_factory.begin() as db:
            issued = await mailed_tokens.issue_password_reset(db, address=address)
        return token_mail(issued, public_url=services.settings.public_url) if issued else None

    context.after_commit(lambda: services.mailer.compose_later(compose))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Mails a single-use reset link (valid 30 minutes) when the address is "
        "the current address of an active account (never a pendingEmail); a new request "
        "replaces the previous link. Always true, also for unknown or malformed addresses "
        "and when throttled (RATE_LIMIT_RESET_EMAIL per address and client, "
        "RATE_LIMIT_RESET_EMAIL_ALL_CLIENTS per address, RATE_LIMIT_RESET_IP per client; "
        "addresses counted on their normalized form), and the lookup runs after the answer, "
        "so neither the answer nor its timing tells "
        "whether an account exists."
    )
    async def request_password_reset(self, info: Info, email: str) -> bool:
        context = info.context
        address = await mailed_tokens.password_reset_wanted(
            context.services.rate_limits, email=email, client=context.client
        )
        if address is not None:
            reset_after_response(context, address)
        return True

    @strawberry.mutation(
        description="Single-use token from the e-mail; revokes every session. An unknown, "
        "used, superseded or expired token is BAD_USER_INPUT with field token, reason "
        "INVALID; a refused password is BAD_USER_INPUT with field newPassword (reason "
        "TOO_SHORT, TOO_LONG or TOO_COMMON) and leaves the token usable.",
        extensions=[CredentialCheck(Secret.MAILED_TOKEN)],
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> bool:
        context = info.context
        async with context.db() as db:
            await mailed_tokens.reset_password(
                db,
                context.services.hasher,
                token=input.token,
                new_password=input.new_password,
                password_min_length=context.settings.password_min_length,
                client=context.client,
            )
        return True

    @strawberry.mutation(
        description="Mails the caller a single-use link (valid 24 hours) that confirms their "
        "pendingEmail if a change is pending, else their unverified address; a new request "
        "replaces the previous link. Always true: nothing is sent when there is nothing to "
        "confirm or when throttled (per address and per client).",
        extensions=guarded_by(IsAuthenticated()),
    )
    async def request_email_verification(self, info: Info) -> bool:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            issued = await mailed_tokens.request_email_verification(
                db, context.services.rate_limits, user=viewer.user, client=context.client
            )
        mail_after_commit(context, issued)
        return True

    @strawberry.mutation(
        description="Confirms the address with the token from the mail; no sign-in needed. "
        "A link mailed to the pendingEmail makes it the account's email (emailVerified "
        "true, pendingEmail null). Returns the user, e-mail included. An unknown, used, "
        "superseded or expired token, or one mailed to an address the account no longer "
        "has or wants, is BAD_USER_INPUT with field token, reason INVALID; a pending address "
        "another account registered meanwhile is BAD_USER_INPUT with field email, reason "
        "TAKEN, and changes nothing.",
        extensions=[CredentialCheck(Secret.MAILED_TOKEN)],
    )
    async def verify_email(self, info: Info, token: str) -> User:
        async with info.context.db() as db:
            row = await mailed_tokens.verify_email(db, token=token, client=info.context.client)
        # Holding the token proves ownership of the account's address.
        info.context.vouch_for(row.id)
        return User.from_row(row)
