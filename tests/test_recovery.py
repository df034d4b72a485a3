"""Password reset and e-mail verification, with tokens read out of the mails the app sends."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.helpers import (
    ME,
    STRONG_PASSWORD,
    USER_DASHBOARD,
    SqlDatabase,
    assert_error,
    client_of,
    data_of,
    gql,
    login,
    make_settings,
    register,
    started_app,
)
from tests.mailbox import MAIL_LOGGER, MailApp, Mailbox, running_mail_app, smtp_server

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


async def request_reset(app: MailApp, email: str) -> dict[str, Any]:
    return await gql(app.client, REQUEST_RESET, {"email": email})


async def reset_token(app: MailApp, email: str) -> str:
    assert data_of(await request_reset(app, email), "requestPasswordReset") is True
    return await app.mailbox.token(email, RESET_SUBJECT)


async def reset(app: MailApp, token: str, password: str = NEW_PASSWORD) -> dict[str, Any]:
    return await gql(app.client, RESET, {"input": {"token": token, "newPassword": password}})


def event_kinds(database: SqlDatabase, user_id: str) -> list[str]:
    return [
        row["kind"] for row in database.rows("security_events") if row["user_id"] == int(user_id)
    ]


@contextmanager
def tokens_table_missing(database: SqlDatabase) -> Iterator[None]:
    """account_tokens renamed away for a moment: every insert into it fails, for real."""
    with database.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE account_tokens RENAME TO account_tokens_away"))
    try:
        yield
    finally:
        with database.engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE account_tokens_away RENAME TO account_tokens"))


def expire_tokens(database: SqlDatabase) -> None:
    tokens = database.table("account_tokens")
    past = datetime.now(UTC) - timedelta(seconds=1)
    with database.engine.begin() as connection:
        connection.execute(sa.update(tokens).values(expires_at=past))


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

    async def test_only_the_hash_of_the_token_is_stored(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        user = (await register(app.client))["user"]

        token = await reset_token(app, user["email"])

        [row] = database.rows("account_tokens")
        assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
        assert token not in {str(value) for value in row.values()}
        lifetime = row["expires_at"] - row["created_at"]
        assert lifetime == timedelta(minutes=30)

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


class TestResetAnswersBeforeLookingUp:
    """The lookup, the token and the mail happen after the answer, in their own transaction."""

    async def test_known_and_unknown_addresses_get_the_same_answer_and_only_one_mail(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        user = (await register(app.client, "Known"))["user"]

        known = await app.client.post(
            "/graphql", json={"query": REQUEST_RESET, "variables": {"email": user["email"]}}
        )
        unknown = await app.client.post(
            "/graphql", json={"query": REQUEST_RESET, "variables": {"email": "ghost@example.com"}}
        )

        assert known.status_code == unknown.status_code == 200
        assert known.content == unknown.content == b'{"data":{"requestPasswordReset":true}}'
        assert sorted(known.headers) == sorted(unknown.headers)
        assert [mail.to for mail in await app.mailbox.mails()] == [user["email"]]
        assert database.count("account_tokens") == 1

    async def test_a_failure_after_the_answer_is_logged_and_never_reaches_the_client(
        self, app: MailApp, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        user = (await register(app.client))["user"]
        with tokens_table_missing(database):
            body = await request_reset(app, user["email"])
            mails = await app.mailbox.mails()

        assert body == {"data": {"requestPasswordReset": True}}
        assert mails == []
        failures = [r for r in caplog.records if r.name == "gql_auth.mail" and r.exc_info]
        assert [r.getMessage() for r in failures] == ["could not prepare a mail"]
        assert "token=" not in caplog.text
        assert data_of(await request_reset(app, user["email"]), "requestPasswordReset") is True
        assert (await app.mailbox.only(user["email"])).subject == RESET_SUBJECT

    async def test_parallel_requests_for_one_account_all_get_their_mail_and_none_fails(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = make_settings(
            database.url,
            rate_limit_reset_email="100/hour",
            rate_limit_reset_email_all_clients="100/hour",
            rate_limit_reset_ip="100/hour",
        )
        async with running_mail_app(settings, caplog) as app:
            user = (await register(app.client))["user"]

            bodies = await asyncio.gather(*(request_reset(app, user["email"]) for _ in range(12)))
            mails = await app.mailbox.mails(user["email"])

        assert all(body == {"data": {"requestPasswordReset": True}} for body in bodies)
        assert len(mails) == 12
        assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        # The background jobs queue on the account's row: one token survives, a mailed one.
        [row] = database.rows("account_tokens")
        assert row["token_hash"] in {hashlib.sha256(m.token.encode()).hexdigest() for m in mails}

    async def test_at_most_the_limit_is_mailed_to_parallel_requests(self, app: MailApp) -> None:
        user = (await register(app.client))["user"]
        spellings = [user["email"], user["email"].upper()] * 4

        bodies = await asyncio.gather(*(request_reset(app, email) for email in spellings))

        assert all(body == {"data": {"requestPasswordReset": True}} for body in bodies)
        assert len(await app.mailbox.mails(user["email"])) == 3


ATTACKER, OWNER = "198.51.100.7", "203.0.113.9"
TRUE = {"data": {"requestPasswordReset": True}}


@asynccontextmanager
async def mail_app_with_peers(
    settings: Any, caplog: pytest.LogCaptureFixture, *hosts: str
) -> AsyncIterator[tuple[Mailbox, tuple[httpx.AsyncClient, ...]]]:
    """One app (one limiter, one mailer), and a client per host whose socket peer is that host."""
    caplog.set_level("INFO", logger=MAIL_LOGGER)
    async with started_app(settings) as app, AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(client_of(app, (host, 1000))) for host in hosts]
        yield Mailbox(app.state.services.mailer, caplog), tuple(clients)


async def request_from(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    return await gql(client, REQUEST_RESET, {"email": email})


class TestOneClientCannotUseUpTheOwnersMails:
    """RESET_EMAIL counts per (address, client); RESET_EMAIL_ALL_CLIENTS is the backstop."""

    async def test_after_an_attackers_requests_the_owner_still_gets_a_mail(
        self, settings: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with mail_app_with_peers(settings, caplog, ATTACKER, OWNER) as (
            mailbox,
            (attacker, owner),
        ):
            email = (await register(owner))["user"]["email"]
            attackers = await asyncio.gather(*(request_from(attacker, email) for _ in range(8)))
            sent_to_attacker = len(await mailbox.mails(email))

            owners = await request_from(owner, email)

            assert attackers == [TRUE] * 8 and owners == TRUE  # the same answer, mailed or not
            assert sent_to_attacker == 3
            assert len(await mailbox.mails(email)) == 4

    async def test_clients_together_stop_at_the_all_clients_limit(
        self, settings: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        hosts = [f"198.51.100.{n}" for n in range(1, 6)]
        async with mail_app_with_peers(settings, caplog, *hosts, OWNER) as (
            mailbox,
            (*clients, owner),
        ):
            email = (await register(owner))["user"]["email"]

            bodies = await asyncio.gather(
                *(request_from(client, email) for client in clients for _ in range(4))
            )
            late = await request_from(owner, email)

            assert bodies == [TRUE] * 20 and late == TRUE
            assert len(await mailbox.mails(email)) == 10

    async def test_parallel_requests_from_one_client_get_exactly_the_limit(
        self, settings: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with mail_app_with_peers(settings, caplog, ATTACKER, OWNER) as (
            mailbox,
            (attacker, owner),
        ):
            email = (await register(owner))["user"]["email"]
            spellings = [email, email.upper(), f" {email} "] * 4

            bodies = await asyncio.gather(*(request_from(attacker, e) for e in spellings))

            assert bodies == [TRUE] * 12
            assert len(await mailbox.mails(email)) == 3


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

    async def test_an_expired_token_is_invalid(self, app: MailApp, database: SqlDatabase) -> None:
        user = (await register(app.client))["user"]
        token = await reset_token(app, user["email"])
        expire_tokens(database)

        body = await reset(app, token)

        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")
        await login(app.client, user["username"], STRONG_PASSWORD)

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

    async def test_an_expired_verification_token_is_invalid(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client)
        await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])
        token = await app.mailbox.token(payload["user"]["email"], VERIFY_SUBJECT)
        expire_tokens(database)

        body = await gql(app.client, VERIFY, {"token": token})

        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert not database.user_row(payload["user"]["username"])["email_verified"]

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
