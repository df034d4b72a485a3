"""Security notices (issue 21, items 2 and 4): the owner hears of every change to how the
account is entered, one mail per change, to the verified address, with no link and nothing
secret in it, and at most RATE_LIMIT_NOTICE_EMAIL of them per recipient.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
import pytest
from sqlalchemy.engine import make_url

from gql_auth.settings import Settings
from tests.authenticator import SoftAuthenticator
from tests.conftest import MARIADB, Backend
from tests.helpers import (
    CHANGE_PASSWORD,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    register,
    session_id_of,
)
from tests.mailbox import MailApp, SentMail, running_mail_app, smtp_server
from tests.mfa import DISABLE, REGENERATE, code_at, enable_totp, user_with_totp
from tests.servers import GQL_AUTH, server_environment
from tests.test_passkeys import DELETE as DELETE_PASSKEY
from tests.test_passkeys import PUBLIC_URL, add_passkey, passkey_session

NEW_PASSWORD = "Brand-New-Lantern-77"

UPDATE = """
mutation U($input: UpdateProfileInput!) { updateProfile(input: $input) { pendingEmail } }"""
REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"
RESET = "mutation R($input: ResetPasswordInput!) { resetPassword(input: $input) }"

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


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, public_url=PUBLIC_URL)


@pytest.fixture
async def app(settings: Settings, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


async def verified_user(
    app: MailApp, database: SqlDatabase, username: str | None = None, email: str | None = None
) -> dict[str, Any]:
    """A fresh account whose address is confirmed (its register payload)."""
    payload = await register(app.client, username, email)
    database.update_user(payload["user"]["id"], email_verified=True)
    return payload


async def notices(app: MailApp, to: str | None = None) -> list[SentMail]:
    return [mail for mail in await app.mailbox.mails(to) if mail.subject in NOTICE_SUBJECTS]


def assert_plain(mail: SentMail, *secrets: str) -> None:
    """Nothing to click and nothing to use: no link, no token, none of these values."""
    assert "http" not in mail.body and "://" not in mail.body
    assert "token" not in mail.body.lower()
    for secret in secrets:
        assert secret not in mail.body


async def change_email(app: MailApp, token: str, email: str) -> dict[str, Any]:
    variables = {"input": {"email": email, "currentPassword": STRONG_PASSWORD}}
    return await gql(app.client, UPDATE, variables, token=token)


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


class TestMailBomb:
    """Item 4: repeated address changes must not flood the address in force."""

    async def test_thirty_changes_in_a_row_tell_the_old_address_ten_times(
        self, app: MailApp, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        payload = await verified_user(app, database, "Bombed")
        old = payload["user"]["email"]

        for n in range(30):
            changed = await change_email(app, payload["accessToken"], f"spam{n}@evil.example")
            assert data_of(changed, "updateProfile")["pendingEmail"] == f"spam{n}@evil.example"

        assert len(await notices(app, old)) == 10
        refused = [r.getMessage() for r in caplog.records if r.name == "gql_auth.notices"]
        assert len(refused) == 20
        assert f"user {payload['user']['id']} not sent" in refused[0]
        assert all(old not in line for line in refused)

    async def test_thirty_changes_at_once_tell_the_old_address_at_most_ten_times(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Failed-password reservations are taken before each hash: let all thirty in.
        settings = make_settings(database.url, rate_limit_login_account_client="100/15minutes")
        async with running_mail_app(settings, caplog) as app:
            payload = await verified_user(app, database)

            bodies = await asyncio.gather(
                *(
                    change_email(app, payload["accessToken"], f"spam{n}@evil.example")
                    for n in range(30)
                )
            )

            changed = [body for body in bodies if not body.get("errors")]
            assert len(changed) > 10, bodies
            assert len(await notices(app, payload["user"]["email"])) == 10

    async def test_one_recipients_limit_leaves_other_recipients_alone(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        bombed = await verified_user(app, database)
        for n in range(11):
            await change_email(app, bombed["accessToken"], f"spam{n}@evil.example")
        bystander = await verified_user(app, database)

        await change_email(app, bystander["accessToken"], "new-home@example.com")

        assert len(await notices(app, bombed["user"]["email"])) == 10
        assert [m.subject for m in await notices(app, bystander["user"]["email"])] == [EMAIL_CHANGE]

    async def test_spellings_of_one_address_share_its_limit(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await verified_user(app, database, email="shared@example.com")
        for n in range(6):
            await change_email(app, payload["accessToken"], f"first{n}@evil.example")
        assert len(await notices(app, "shared@example.com")) == 6  # all sent before the edit
        # As an older release stored it: another spelling, the same normalized key.
        database.update_user(payload["user"]["id"], email="SHARED@Example.COM")

        for n in range(6):
            await change_email(app, payload["accessToken"], f"second{n}@evil.example")

        lower = await notices(app, "shared@example.com")
        upper = await notices(app, "SHARED@Example.COM")
        assert (len(lower), len(upper)) == (6, 4)


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
            done = subprocess.run(
                [str(GQL_AUTH), "reset-mfa", payload["user"]["username"]],
                cwd=tmp_path,
                env=environment,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        assert done.returncode == 0, done.stderr
        (message,) = inbox.messages
        assert message["To"] == payload["user"]["email"]
        assert message["Subject"] == MFA_DISABLED
        assert "http" not in str(message.get_content())


CONFIRM_AND_LOGOUT = """
mutation CL($code: String!, $token: String!) {
  confirmTotp(code: $code)
  logout(refreshToken: $token)
}"""
ENROLL = "mutation E($p: String!) { enrollTotp(currentPassword: $p) { secret } }"


class TestRolledBack:
    async def test_a_change_rolled_back_after_a_lock_timeout_is_told_nothing(
        self, backend: Backend, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        """confirmTotp records MFA_ENABLED; the logout after it meets a held row twice."""
        if backend.name != "mariadb":
            pytest.skip("a row lock held from a second connection: MariaDB only")
        impatient = f"{database.url}?init_command=SET%20innodb_lock_wait_timeout%3D1"
        async with running_mail_app(make_settings(impatient), caplog) as app:
            payload = await verified_user(app, database)
            token = payload["accessToken"]
            secret = data_of(
                await gql(app.client, ENROLL, {"p": STRONG_PASSWORD}, token=token), "enrollTotp"
            )["secret"]
            variables = {"code": code_at(secret), "token": payload["refreshToken"]}
            with holding_the_session_row(database, session_id_of(payload)):
                body = await gql(app.client, CONFIRM_AND_LOGOUT, variables, token=token)

            assert_error(body, "INTERNAL_SERVER_ERROR")
            assert database.count("totp_credentials") == 1  # still only pending
            assert database.rows("totp_credentials")[0]["enabled_at"] is None
            assert await app.mailbox.mails(payload["user"]["email"]) == []


@contextmanager
def holding_the_session_row(database: SqlDatabase, session_id: str) -> Iterator[None]:
    """Another server's transaction holding a session row, until the block ends."""
    name = make_url(database.url).database
    connection = pymysql.connect(**MARIADB, database=name, autocommit=False)
    try:
        connection.begin()
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM sessions WHERE id = %s FOR UPDATE", (session_id,))
        yield
    finally:
        connection.rollback()
        connection.close()
