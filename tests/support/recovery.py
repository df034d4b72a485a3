"""Password-reset requests and the mails they send."""

from __future__ import annotations

from typing import Any

from tests.support.helpers import (
    gql,
)
from tests.support.mailbox import MailApp

RESET_SUBJECT = "Reset your password"


REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"


async def request_reset(app: MailApp, email: str) -> dict[str, Any]:
    return await gql(app.client, REQUEST_RESET, {"email": email})
