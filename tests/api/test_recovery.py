"""Password reset and e-mail verification, with tokens read out of the mails the app sends.
Parallel requests and expired tokens are in tests/db/test_recovery.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.helpers import (
    ME,
    STRONG_PASSWORD,
    USER_DASHBOARD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    make_settings,
    register,
)
from tests.support.mailbox import MailApp, running_mail_app, smtp_server
from tests.support.recovery import (
    NEW_PASSWORD,
    REQUEST_VERIFICATION,
    RESET_SUBJECT,
    VERIFY,
    VERIFY_SUBJECT,
    request_reset,
    reset,
    reset_token,
)

REFRESH = "mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"
CHANGE_PASSWORD = """
mutation C($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }"""
UPDATE_EMAIL = """
mutation U($email: String!, $password: String!) {
  updateProfile(input: {email: $email, currentPassword: $password}) { pendingEmail }
}"""


@pytest.fixture
async def app(settings: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


def event_kinds(database: SqlDatabase, user_id: str) -> list[str]:
    return [
        row["kind"] for row in database.rows("security_events") if row["user_id"] == int(user_id)
    ]


class TestRequestPasswordReset:
    async def test_a_known_address_is_mailed_a_link_to_the_public_url(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        user = (await register(app.client, "Resetter"))["user"]

        body = await request_reset(app, user["email"])

        assert data_of(body, "requestPasswordReset") is True
        mail = await app.mailbox.only(user["email"])
        assert mail.subject == RESET_SUBJECT
        assert mail.link.startswith("http://127.0.0.1:8000/")
        assert len(mail.token) >= 43  # >= 256 bits, url-safe base64

    async def test_the_address_is_matched_ignoring_case(self, app: MailApp) -> None:
        user = (await register(app.client, email="casey@example.com"))["user"]

        await request_reset(app, "  Casey@EXAMPLE.com ")

        assert (await app.mailbox.only(user["email"])).subject == RESET_SUBJECT

    async def test_an_unknown_address_is_true_and_mails_nothing(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        known = await request_reset(app, "nobody@example.com")

        assert data_of(known, "requestPasswordReset") is True
        assert await app.mailbox.mails() == []
        assert database.count("account_tokens") == 0

    @pytest.mark.parametrize("email", ["not an address", "", "x" * 300 + "@example.com"])
    async def test_a_malformed_address_is_true_and_mails_nothing(
        self, app: MailApp, email: str
    ) -> None:
        body = await request_reset(app, email)

        assert body == {"data": {"requestPasswordReset": True}}
        assert await app.mailbox.mails() == []

    async def test_a_deactivated_account_is_mailed_nothing(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        user = (await register(app.client))["user"]
        database.update_user(user["id"], is_active=False)

        body = await request_reset(app, user["email"])

        assert body == {"data": {"requestPasswordReset": True}}
        assert await app.mailbox.mails() == []

    async def test_the_fourth_request_in_an_hour_mails_nothing_and_looks_the_same(
        self, app: MailApp
    ) -> None:
        user = (await register(app.client))["user"]

        bodies = [await request_reset(app, user["email"]) for _ in range(4)]

        assert all(body == {"data": {"requestPasswordReset": True}} for body in bodies)
        assert len(await app.mailbox.mails(user["email"])) == 3

    async def test_one_client_is_throttled_across_addresses(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = make_settings(database.url, rate_limit_reset_ip="2/hour")
        async with running_mail_app(settings, caplog) as app:
            users = [(await register(app.client))["user"] for _ in range(3)]

            bodies = [await request_reset(app, user["email"]) for user in users]

            assert all(body == {"data": {"requestPasswordReset": True}} for body in bodies)
            # Each reset is mailed by a background job of its own: in either order.
            assert sorted(mail.to for mail in await app.mailbox.mails()) == sorted(
                [users[0]["email"], users[1]["email"]]
            )


ATTACKER, OWNER = "198.51.100.7", "203.0.113.9"


class TestMailLimitOnTheNormalizedAddress:
    async def test_fullwidth_and_case_spellings_share_one_budget(self, app: MailApp) -> None:
        user = (await register(app.client, "Wide", "wide@example.com"))["user"]
        spellings = [
            "wide@example.com",
            "WIDE@EXAMPLE.COM",
            "wide@\uff45xample.com",  # fullwidth e in the domain
            "\uff57\uff49\uff44\uff45@example.com",  # fullwidth local part
            "Wide@Ｅxample.com",
            "wide@example.com",
        ]

        bodies = [await request_reset(app, spelling) for spelling in spellings]

        assert all(body == {"data": {"requestPasswordReset": True}} for body in bodies)
        assert len(await app.mailbox.mails(user["email"])) == 3

    async def test_punycode_and_unicode_domains_share_one_budget(self, app: MailApp) -> None:
        user = (await register(app.client, "Idn", "idn@bücher.example"))["user"]
        spellings = [
            "idn@xn--bcher-kva.example",
            "idn@bücher.example",
            "IDN@BÜCHER.EXAMPLE",
            "idn@XN--BCHER-KVA.EXAMPLE",
            "idn@ｂüｃｈｅｒ.example",
        ]

        bodies = [await request_reset(app, spelling) for spelling in spellings]

        assert all(body == {"data": {"requestPasswordReset": True}} for body in bodies)
        mails = await app.mailbox.mails()
        assert [mail.to for mail in mails] == [user["email"]] * 3

    async def test_verification_mails_count_on_the_same_key(self, app: MailApp) -> None:
        payload = await register(app.client, "Both", "both@example.com")
        await request_reset(app, "BOTH@\uff45xample.com")
        await request_reset(app, "both@example.com")

        await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])
        await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])

        assert len(await app.mailbox.mails("both@example.com")) == 3


class TestLinksDieWithThePassword:
    async def test_a_password_change_voids_reset_links_and_a_pending_address(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Changer")
        address = payload["user"]["email"]
        reset_link = await reset_token(app, address)
        await gql(
            app.client,
            UPDATE_EMAIL,
            {"email": "pending@example.com", "password": STRONG_PASSWORD},
            token=payload["accessToken"],
        )
        verify_link = await app.mailbox.token("pending@example.com", VERIFY_SUBJECT)

        changed = await gql(
            app.client,
            CHANGE_PASSWORD,
            {"input": {"currentPassword": STRONG_PASSWORD, "newPassword": NEW_PASSWORD}},
            token=payload["accessToken"],
        )

        assert data_of(changed, "changePassword")["accessToken"]
        assert_error(
            await reset(app, reset_link), "BAD_USER_INPUT", field="token", reason="INVALID"
        )
        verified = await gql(app.client, VERIFY, {"token": verify_link})
        assert_error(verified, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert database.count("account_tokens") == 0
        assert database.user_row("Changer")["pending_email"] is None
        await login(app.client, "Changer", NEW_PASSWORD)

    async def test_a_reset_voids_every_other_link(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Resetter")
        await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])
        verify_link = await app.mailbox.token(payload["user"]["email"], VERIFY_SUBJECT)
        reset_link = await reset_token(app, payload["user"]["email"])

        assert data_of(await reset(app, reset_link), "resetPassword") is True

        verified = await gql(app.client, VERIFY, {"token": verify_link})
        assert_error(verified, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert database.count("account_tokens") == 0


class TestResetPassword:
    async def test_reset_sets_the_password_and_signs_out_everywhere(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        first = await register(app.client, "Forgetful")
        second = await login(app.client, "Forgetful")
        token = await reset_token(app, first["user"]["email"])

        body = await reset(app, token)

        assert data_of(body, "resetPassword") is True
        refused = await gql(
            app.client,
            "mutation L($i: LoginInput!) { login(input: $i) { accessToken } }",
            {"i": {"username": "Forgetful", "password": STRONG_PASSWORD}},
        )
        assert_error(refused, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        await login(app.client, "Forgetful", NEW_PASSWORD)
        for payload in (first, second):
            me = await gql(app.client, ME, token=payload["accessToken"])
            assert_error(me, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
            refreshed = await gql(app.client, REFRESH, {"t": payload["refreshToken"]})
            assert_error(refreshed, "UNAUTHENTICATED")
        assert "PASSWORD_RESET" in event_kinds(database, first["user"]["id"])

    async def test_a_token_works_only_once(self, app: MailApp) -> None:
        user = (await register(app.client))["user"]
        token = await reset_token(app, user["email"])
        assert data_of(await reset(app, token), "resetPassword") is True

        again = await reset(app, token, "Another-Fine-Password-93")

        assert_error(again, "BAD_USER_INPUT", field="token", reason="INVALID")
        await login(app.client, user["username"], NEW_PASSWORD)

    async def test_a_new_request_supersedes_the_previous_token(self, app: MailApp) -> None:
        user = (await register(app.client))["user"]
        old = await reset_token(app, user["email"])
        new = await reset_token(app, user["email"])

        assert_error(await reset(app, old), "BAD_USER_INPUT", field="token", reason="INVALID")
        assert data_of(await reset(app, new), "resetPassword") is True

    @pytest.mark.parametrize("token", ["", "nonsense", "A" * 43, "x" * 5000])
    async def test_an_unknown_token_is_invalid(self, app: MailApp, token: str) -> None:
        body = await reset(app, token)

        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_a_refused_password_keeps_the_token_usable(self, app: MailApp) -> None:
        user = (await register(app.client))["user"]
        token = await reset_token(app, user["email"])

        short = await reset(app, token, "short")
        common = await reset(app, token, "password123")

        assert_error(short, "BAD_USER_INPUT", field="newPassword", reason="TOO_SHORT")
        assert_error(common, "BAD_USER_INPUT", field="newPassword", reason="TOO_COMMON")
        assert data_of(await reset(app, token), "resetPassword") is True

    async def test_a_token_mailed_to_a_former_address_is_invalid(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        user = (await register(app.client))["user"]
        token = await reset_token(app, user["email"])
        database.update_user(user["id"], email="moved-away@example.com")

        body = await reset(app, token)

        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_a_verification_token_cannot_reset_a_password(self, app: MailApp) -> None:
        payload = await register(app.client)
        await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])
        token = await app.mailbox.token(payload["user"]["email"], VERIFY_SUBJECT)

        body = await reset(app, token)

        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")


class TestEmailVerification:
    async def test_verification_confirms_the_address_without_a_sign_in(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Verifier")
        assert payload["user"]["emailVerified"] is False

        requested = await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])
        mail = await app.mailbox.only(payload["user"]["email"])
        verified = await gql(app.client, VERIFY, {"token": mail.token})

        assert data_of(requested, "requestEmailVerification") is True
        assert mail.subject == VERIFY_SUBJECT
        assert mail.link.startswith("http://127.0.0.1:8000/")
        assert data_of(verified, "verifyEmail") == {
            "id": payload["user"]["id"],
            "username": "Verifier",
            "email": payload["user"]["email"],
            "emailVerified": True,
        }
        assert database.user_row("Verifier")["email_verified"]
        dashboard = await gql(app.client, USER_DASHBOARD, token=payload["accessToken"])
        kinds = [event["kind"] for event in data_of(dashboard, "userDashboard")["recentEvents"]]
        assert kinds[0] == "EMAIL_VERIFIED"

    async def test_a_verification_token_works_only_once(self, app: MailApp) -> None:
        payload = await register(app.client)
        await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])
        token = await app.mailbox.token(payload["user"]["email"], VERIFY_SUBJECT)
        data_of(await gql(app.client, VERIFY, {"token": token}), "verifyEmail")

        again = await gql(app.client, VERIFY, {"token": token})

        assert_error(again, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_a_reset_token_cannot_verify_an_address(self, app: MailApp) -> None:
        user = (await register(app.client))["user"]
        token = await reset_token(app, user["email"])

        body = await gql(app.client, VERIFY, {"token": token})

        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_requesting_verification_needs_a_sign_in(self, app: MailApp) -> None:
        body = await gql(app.client, REQUEST_VERIFICATION)

        assert_error(body, "UNAUTHENTICATED")

    async def test_a_verified_address_is_mailed_nothing(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client)
        database.update_user(payload["user"]["id"], email_verified=True)

        body = await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])

        assert data_of(body, "requestEmailVerification") is True
        assert await app.mailbox.mails() == []

    async def test_verification_mails_are_throttled_per_address(self, app: MailApp) -> None:
        payload = await register(app.client)

        bodies = [
            await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])
            for _ in range(4)
        ]

        assert all(body == {"data": {"requestEmailVerification": True}} for body in bodies)
        assert len(await app.mailbox.mails()) == 3


class TestSmtpDelivery:
    async def test_a_reset_mail_is_delivered_over_smtp_and_its_token_works(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        with smtp_server() as inbox:
            settings = make_settings(
                database.url,
                smtp_host="127.0.0.1",
                smtp_port=inbox.port,
                smtp_starttls=False,
                mail_from="gql-auth <auth@example.com>",
                public_url="https://auth.example.com/",
            )
            async with running_mail_app(settings, caplog) as app:
                user = (await register(app.client, "Smtp"))["user"]
                await request_reset(app, user["email"])
                await app.mailer.drain()

                [message] = inbox.messages
                assert message["To"] == user["email"]
                assert message["From"] == "gql-auth <auth@example.com>"
                assert message["Subject"] == RESET_SUBJECT
                body = str(message.get_content())
                assert "https://auth.example.com/reset-password?token=" in body
                token = body.split("?token=")[1].split()[0]
                assert data_of(await reset(app, token), "resetPassword") is True
                assert inbox.logins == []  # no SMTP_USERNAME: no login

    async def test_smtp_login_is_used_when_a_username_is_set(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        with smtp_server(with_login=True) as inbox:
            settings = make_settings(
                database.url,
                smtp_host="127.0.0.1",
                smtp_port=inbox.port,
                smtp_starttls=False,
                smtp_username="mailer",
                smtp_password="smtp-secret-pw",
            )
            async with running_mail_app(settings, caplog) as app:
                user = (await register(app.client))["user"]
                await request_reset(app, user["email"])
                await app.mailer.drain()

        assert inbox.logins == [("mailer", "smtp-secret-pw")]
        assert len(inbox.messages) == 1

    async def test_an_unreachable_server_is_logged_and_the_request_still_succeeds(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = make_settings(
            database.url,
            smtp_host="127.0.0.1",
            smtp_port=1,
            smtp_starttls=False,
            smtp_username="mailer",
            smtp_password="smtp-secret-pw",
        )
        async with running_mail_app(settings, caplog) as app:
            user = (await register(app.client))["user"]

            body = await request_reset(app, user["email"])
            await app.mailer.drain()

        assert body == {"data": {"requestPasswordReset": True}}
        failures = [r for r in caplog.records if r.name == "gql_auth.mail"]
        assert any(r.levelno == logging.ERROR for r in failures)
        logged = "\n".join(r.getMessage() for r in failures)
        assert RESET_SUBJECT in logged
        assert "smtp-secret-pw" not in logged
        assert "token=" not in logged
