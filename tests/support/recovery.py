"""Password reset and e-mail verification: the requests, and the tokens read out of the mails."""

from __future__ import annotations

from typing import Any

from tests.support.helpers import (
    data_of,
    gql,
)
from tests.support.mailbox import MailApp

NEW_PASSWORD = "Marmot-Teapot-Glacier-77"
RESET_SUBJECT = "Reset your password"
VERIFY_SUBJECT = "Confirm your e-mail address"
REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"
RESET = "mutation R($input: ResetPasswordInput!) { resetPassword(input: $input) }"
REQUEST_VERIFICATION = "mutation { requestEmailVerification }"
VERIFY = """
mutation V($token: String!) {
  verifyEmail(token: $token) { id username email emailVerified }
}"""


async def request_reset(app: MailApp, email: str) -> dict[str, Any]:
    return await gql(app.client, REQUEST_RESET, {"email": email})


async def reset_token(app: MailApp, email: str) -> str:
    assert data_of(await request_reset(app, email), "requestPasswordReset") is True
    return await app.mailbox.token(email, RESET_SUBJECT)


async def reset(app: MailApp, token: str, password: str = NEW_PASSWORD) -> dict[str, Any]:
    return await gql(app.client, RESET, {"input": {"token": token, "newPassword": password}})
