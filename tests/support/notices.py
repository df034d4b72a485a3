"""Security notices: the mails that tell an owner of each change to their account."""

from __future__ import annotations

from typing import Any

from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    gql,
    register,
)
from tests.support.mailbox import MailApp, SentMail

UPDATE = """
mutation U($input: UpdateProfileInput!) { updateProfile(input: $input) { pendingEmail } }"""


PASSWORD_CHANGED = "Your password was changed"


PASSWORD_RESET = "Your password was reset"


MFA_ENABLED = "Two-step sign-in was turned on"


MFA_DISABLED = "A second factor was removed"


CODES_REGENERATED = "New recovery codes were made"


PASSKEY_ADDED = "A passkey was added"


PASSKEY_REMOVED = "A passkey was removed"


EMAIL_CHANGE = "Your e-mail address is being changed"


NOTICE_SUBJECTS = {
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    MFA_ENABLED,
    MFA_DISABLED,
    CODES_REGENERATED,
    PASSKEY_ADDED,
    PASSKEY_REMOVED,
    EMAIL_CHANGE,
}


async def verified_user(
    app: MailApp, database: SqlDatabase, username: str | None = None, email: str | None = None
) -> dict[str, Any]:
    """A fresh account whose address is confirmed (its register payload)."""
    payload = await register(app.client, username, email)
    database.update_user(payload["user"]["id"], email_verified=True)
    return payload


async def notices(app: MailApp, to: str | None = None) -> list[SentMail]:
    return [mail for mail in await app.mailbox.mails(to) if mail.subject in NOTICE_SUBJECTS]


async def change_email(app: MailApp, token: str, email: str) -> dict[str, Any]:
    variables = {"input": {"email": email, "currentPassword": STRONG_PASSWORD}}
    return await gql(app.client, UPDATE, variables, token=token)
