"""Profile changes (username, e-mail) and the mails they send."""

from __future__ import annotations

from typing import Any

from tests.support.helpers import (
    LOGIN,
    STRONG_PASSWORD,
    gql,
)
from tests.support.mailbox import MailApp

UPDATE = """
mutation U($input: UpdateProfileInput!) {
  updateProfile(input: $input) { id username email emailVerified pendingEmail }
}"""


VERIFY = """
mutation V($token: String!) { verifyEmail(token: $token) { email emailVerified pendingEmail } }"""


REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"


RESET = "mutation R($input: ResetPasswordInput!) { resetPassword(input: $input) }"


VERIFY_SUBJECT = "Confirm your e-mail address"


RESET_SUBJECT = "Reset your password"


NOTICE_SUBJECT = "Your e-mail address is being changed"


ATTACKER_PASSWORD = "Intruder-Chose-This-91"


async def update(
    app: MailApp, token: str, *, current_password: str | None = STRONG_PASSWORD, **fields: Any
) -> dict[str, Any]:
    """updateProfile with the account's password, unless told otherwise (None: omitted)."""
    if current_password is not None:
        fields["currentPassword"] = current_password
    return await gql(app.client, UPDATE, {"input": fields}, token=token)


async def login_body(app: MailApp, name: str, password: str = STRONG_PASSWORD) -> dict[str, Any]:
    return await gql(app.client, LOGIN, {"input": {"username": name, "password": password}})
