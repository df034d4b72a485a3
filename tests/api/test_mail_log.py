"""Without SMTP_HOST, production logs that a mail was not sent, never its link (issue 11,
item 8); development keeps logging the whole mail, since the log is its mailbox."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest

from gql_auth.settings import Settings
from tests.support.helpers import SqlDatabase, data_of, gql, make_settings, register, running_app
from tests.support.mailbox import running_mail_app
from tests.support.production import production_settings

REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"
RESET_SUBJECT = "Reset your password"
# Our tokens are 32 random bytes, url-safe base64: 43 characters.
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{43}")


async def reset_requested_and_logged(
    settings: Settings, database: SqlDatabase, caplog: pytest.LogCaptureFixture, email: str
) -> tuple[str, str]:
    """Requests a reset for `email`; returns everything logged and the stored token hash."""
    async with running_mail_app(settings, caplog) as app:
        body = await gql(app.client, REQUEST_RESET, {"email": email})
        assert data_of(body, "requestPasswordReset") is True
        await app.mailer.drain()
    (token_row,) = database.rows("account_tokens")  # a reset mail was really made
    return caplog.text, token_row["token_hash"]


def logged_token_hashes(text: str) -> set[str]:
    return {hashlib.sha256(found.encode()).hexdigest() for found in TOKEN_LIKE.findall(text)}


class TestProductionWithoutSmtp:
    async def test_a_reset_mail_is_logged_without_its_link(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_app(make_settings(database.url)) as development:
            email = (await register(development, "prodmail"))["user"]["email"]
        caplog.set_level(logging.DEBUG)

        logged, token_hash = await reset_requested_and_logged(
            production_settings(database.url), database, caplog, email
        )

        assert token_hash not in logged_token_hashes(logged)
        assert "token=" not in logged
        assert "/reset-password" not in logged
        (unsent,) = [r for r in caplog.records if "was not sent" in r.getMessage()]
        assert RESET_SUBJECT in unsent.getMessage()
        assert email in unsent.getMessage()
        assert unsent.levelno == logging.WARNING

    async def test_the_app_warns_at_start_that_mails_are_not_sent(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="gql_auth.mail")

        async with running_app(production_settings(database.url)):
            pass

        assert any("no mail is sent" in record.getMessage() for record in caplog.records)


class TestDevelopmentWithoutSmtp:
    async def test_the_log_is_the_mailbox_with_the_live_link(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The contrast that shows the production check can fail."""
        settings = make_settings(database.url)
        async with running_app(settings) as development:
            email = (await register(development, "devmail"))["user"]["email"]

        logged, token_hash = await reset_requested_and_logged(settings, database, caplog, email)

        assert token_hash in logged_token_hashes(logged)
