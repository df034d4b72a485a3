"""Security notices (issue 21, items 2 and 4): the owner hears of every change to how the
account is entered, one mail per change, to the verified address, with no link and nothing
secret in it. The mail-bomb limit and rolled-back changes are in tests/db/test_notices.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gql_auth.settings import Settings
from tests.support.authenticator import SoftAuthenticator
from tests.support.cli import call_cli
from tests.support.helpers import (
    CHANGE_PASSWORD,
    STRONG_PASSWORD,
    SqlDatabase,
    data_of,
    gql,
    make_settings,
    register,
)
from tests.support.mailbox import MailApp, SentMail, running_mail_app, smtp_server
from tests.support.mfa import DISABLE, REGENERATE, enable_totp, user_with_totp
from tests.support.notices import (
    CODES_REGENERATED,
    EMAIL_CHANGE,
    MFA_DISABLED,
    MFA_ENABLED,
    PASSKEY_ADDED,
    PASSKEY_REMOVED,
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    change_email,
    notices,
    verified_user,
)
from tests.support.passkeys import DELETE as DELETE_PASSKEY
from tests.support.passkeys import PUBLIC_URL, add_passkey, passkey_session
from tests.support.servers import server_environment

NEW_PASSWORD = "Brand-New-Lantern-77"

REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"
RESET = "mutation R($input: ResetPasswordInput!) { resetPassword(input: $input) }"


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, public_url=PUBLIC_URL)


@pytest.fixture
async def app(settings: Settings, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


def assert_plain(mail: SentMail, *secrets: str) -> None:
    """Nothing to click and nothing to use: no link, no token, none of these values."""
    assert "http" not in mail.body and "://" not in mail.body
    assert "token" not in mail.body.lower()
    for secret in secrets:
        assert secret not in mail.body


async def add_factors(app: MailApp, payload: dict[str, Any]) -> None:
    """A passkey (the first factor, from any session), then TOTP from the passkey's session."""
    authenticator = SoftAuthenticator(origin=PUBLIC_URL)
    await add_passkey(app.client, payload["accessToken"], authenticator)
    stepped_up = await passkey_session(app.client, payload["user"]["username"], authenticator)
    await enable_totp(app.client, stepped_up["accessToken"])


def second_factor(code: str, password: str = STRONG_PASSWORD) -> dict[str, Any]:
    return {"input": {"currentPassword": password, "code": code}}


class TestEachChangeIsToldOnce:
    async def test_a_password_change_is_told_to_the_verified_address(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await verified_user(app, database, "Changer")
        address = payload["user"]["email"]
        variables = {"input": {"currentPassword": STRONG_PASSWORD, "newPassword": NEW_PASSWORD}}

        data_of(
            await gql(app.client, CHANGE_PASSWORD, variables, token=payload["accessToken"]),
            "changePassword",
        )

        (notice,) = await app.mailbox.mails(address)
        assert notice.subject == PASSWORD_CHANGED
        assert "password of your account Changer was changed" in notice.body
        assert_plain(notice, NEW_PASSWORD, STRONG_PASSWORD)

    async def test_a_password_reset_is_told_without_its_token(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        address = (await verified_user(app, database))["user"]["email"]
        await gql(app.client, REQUEST_RESET, {"email": address})
        token = await app.mailbox.token(address, "Reset your password")

        reset = await gql(
            app.client, RESET, {"input": {"token": token, "newPassword": NEW_PASSWORD}}
        )

        assert data_of(reset, "resetPassword") is True
        (notice,) = await notices(app, address)
        assert notice.subject == PASSWORD_RESET
        assert "was reset" in notice.body
        assert_plain(notice, token, NEW_PASSWORD)

    async def test_turning_totp_on_is_told_without_its_secret_or_codes(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await verified_user(app, database)

        secret, codes = await enable_totp(app.client, payload["accessToken"])

        (notice,) = await app.mailbox.mails(payload["user"]["email"])
        assert notice.subject == MFA_ENABLED
        assert "authenticator app (TOTP) was added" in notice.body
        assert_plain(notice, secret, *codes)

    async def test_turning_totp_off_is_told(self, app: MailApp, database: SqlDatabase) -> None:
        payload = await verified_user(app, database)
        _, codes = await enable_totp(app.client, payload["accessToken"])

        body = await gql(app.client, DISABLE, second_factor(codes[0]), token=payload["accessToken"])

        assert data_of(body, "disableTotp") is True
        mails = await app.mailbox.mails(payload["user"]["email"])
        assert [mail.subject for mail in mails] == [MFA_ENABLED, MFA_DISABLED]
        assert "were removed" in mails[1].body
        assert_plain(mails[1], *codes)

    async def test_new_recovery_codes_are_told_without_them(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await verified_user(app, database)
        _, codes = await enable_totp(app.client, payload["accessToken"])

        body = await gql(
            app.client, REGENERATE, second_factor(codes[0]), token=payload["accessToken"]
        )

        fresh = data_of(body, "regenerateRecoveryCodes")
        mails = await app.mailbox.mails(payload["user"]["email"])
        assert [mail.subject for mail in mails] == [MFA_ENABLED, CODES_REGENERATED]
        assert "New recovery codes were made" in mails[1].body
        assert_plain(mails[1], *codes, *fresh)

    async def test_adding_and_removing_a_passkey_are_told_once_each(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await verified_user(app, database)
        token = payload["accessToken"]

        authenticator = SoftAuthenticator(origin=PUBLIC_URL)
        passkey = await add_passkey(app.client, token, authenticator)
        stepped_up = await passkey_session(app.client, payload["user"]["username"], authenticator)
        deleted = await gql(
            app.client,
            DELETE_PASSKEY,
            {"id": passkey["id"], "password": STRONG_PASSWORD},
            token=stepped_up["accessToken"],
        )

        assert data_of(deleted, "deletePasskey") is True
        mails = await app.mailbox.mails(payload["user"]["email"])
        assert [mail.subject for mail in mails] == [PASSKEY_ADDED, PASSKEY_REMOVED]
        assert "passkey was added to your account" in mails[0].body
        assert "passkey was removed from your account" in mails[1].body
        for mail in mails:
            assert_plain(mail)

    async def test_an_address_change_is_told_with_the_new_address_masked(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await verified_user(app, database, "Mover")
        old = payload["user"]["email"]
        message = "call-0800-555-0199-to-keep-your-account@evil.example"

        changed = await change_email(app, payload["accessToken"], message)

        assert data_of(changed, "updateProfile")["pendingEmail"] == message
        (notice,) = await app.mailbox.mails(old)
        assert notice.subject == EMAIL_CHANGE
        assert "asked to change its e-mail address to c***@evil.example." in notice.body
        assert_plain(notice, message, "0800")


class TestWhoIsToldNothing:
    async def test_an_unverified_address_is_told_nothing(self, app: MailApp) -> None:
        payload = await register(app.client)
        token = payload["accessToken"]

        await add_factors(app, payload)
        await change_email(app, token, "elsewhere@example.com")

        assert await app.mailbox.mails(payload["user"]["email"]) == []

    async def test_with_security_notifications_off_nobody_is_told(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = make_settings(database.url, public_url=PUBLIC_URL, security_notifications=False)
        async with running_mail_app(settings, caplog) as app:
            payload = await verified_user(app, database)
            token = payload["accessToken"]

            await add_factors(app, payload)
            await change_email(app, token, "elsewhere@example.com")

            assert await app.mailbox.mails(payload["user"]["email"]) == []
            assert len(await app.mailbox.mails("elsewhere@example.com")) == 1  # its link

    async def test_refused_changes_are_told_nothing(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await verified_user(app, database)
        address, token = payload["user"]["email"], payload["accessToken"]
        _, codes = await enable_totp(app.client, token)
        other = await register(app.client)
        told = len(await app.mailbox.mails(address))

        wrong_password = {"input": {"currentPassword": "not-it", "newPassword": NEW_PASSWORD}}
        refusals = [
            await gql(app.client, CHANGE_PASSWORD, wrong_password, token=token),
            await gql(app.client, DISABLE, second_factor("000000"), token=token),
            await gql(app.client, REGENERATE, second_factor(codes[0], "not-it"), token=token),
            await gql(
                app.client, DELETE_PASSKEY, {"id": "1", "password": STRONG_PASSWORD}, token=token
            ),
            await change_email(app, token, other["user"]["email"]),
        ]

        for body in refusals:
            assert body["errors"]
        assert len(await app.mailbox.mails(address)) == told == 1


class TestOperatorResetMfa:
    async def test_the_owner_hears_of_an_operators_reset_mfa(
        self, app: MailApp, database: SqlDatabase, tmp_path: Any
    ) -> None:
        payload, _, _ = await user_with_totp(app.client)
        database.update_user(payload["user"]["id"], email_verified=True)

        with smtp_server() as inbox:
            environment = server_environment(
                database.url,
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(inbox.port),
                SMTP_STARTTLS="false",
            )
            done = call_cli("reset-mfa", payload["user"]["username"], cwd=tmp_path, env=environment)

        assert done.returncode == 0, done.stderr
        (message,) = inbox.messages
        assert message["To"] == payload["user"]["email"]
        assert message["Subject"] == MFA_DISABLED
        assert "http" not in str(message.get_content())
