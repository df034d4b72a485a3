"""Password reset and e-mail verification on every backend: the answer comes before the
lookup, one client cannot use up the owner's mails, expired tokens are refused, and only
the token's hash is stored, with its lifetime."""

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

from tests.support.helpers import (
    STRONG_PASSWORD,
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
from tests.support.mailbox import MAIL_LOGGER, MailApp, Mailbox, running_mail_app
from tests.support.recovery import (
    REQUEST_RESET,
    REQUEST_VERIFICATION,
    RESET_SUBJECT,
    VERIFY,
    VERIFY_SUBJECT,
    request_reset,
    reset,
    reset_token,
)


def expire_tokens(database: SqlDatabase) -> None:
    tokens = database.table("account_tokens")
    past = datetime.now(UTC) - timedelta(seconds=1)
    with database.engine.begin() as connection:
        connection.execute(sa.update(tokens).values(expires_at=past))


@pytest.fixture
async def app(settings: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


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


class TestRequestPasswordReset:
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


class TestResetPassword:
    async def test_an_expired_token_is_invalid(self, app: MailApp, database: SqlDatabase) -> None:
        user = (await register(app.client))["user"]
        token = await reset_token(app, user["email"])
        expire_tokens(database)

        body = await reset(app, token)

        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")
        await login(app.client, user["username"], STRONG_PASSWORD)


class TestEmailVerification:
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
