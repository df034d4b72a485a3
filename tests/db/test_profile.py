"""updateProfile on every backend: usernames unique in any case also under parallel changes,
and e-mail changes kept pending until the link mailed to the new address is used."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gql_auth.settings import Settings
from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    register,
    running_app,
    unique_username,
)
from tests.support.mailbox import MailApp, SentMail, running_mail_app
from tests.support.profile import (
    ATTACKER_PASSWORD,
    NOTICE_SUBJECT,
    REQUEST_RESET,
    RESET,
    RESET_SUBJECT,
    UPDATE,
    VERIFY,
    VERIFY_SUBJECT,
    login_body,
    update,
)

REQUEST_VERIFICATION = "mutation { requestEmailVerification }"


@pytest.fixture
async def app(settings: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


def subjects(mails: list[SentMail]) -> list[tuple[str, str]]:
    return [(mail.to, mail.subject) for mail in mails]


class TestUsername:
    async def test_a_new_username_is_used_for_sign_in(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "OldName")

        body = await update(app, payload["accessToken"], username="NewName")

        assert data_of(body, "updateProfile")["username"] == "NewName"
        assert database.user_row("newname")["username_key"] == "newname"
        await login(app.client, "newname")
        refused = await login_body(app, "OldName")
        assert_error(refused, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_changing_only_the_case_of_ones_own_username_is_allowed(
        self, app: MailApp
    ) -> None:
        payload = await register(app.client, "lowercase")

        body = await update(app, payload["accessToken"], username="LowerCase")

        assert data_of(body, "updateProfile")["username"] == "LowerCase"

    async def test_a_username_taken_in_another_case_is_refused(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        await register(app.client, "Taken")
        payload = await register(app.client, "Taker")

        body = await update(
            app, payload["accessToken"], username="tAKEN", email="new-taker@example.com"
        )

        assert_error(body, "BAD_USER_INPUT", field="username", reason="TAKEN")
        row = database.user_row("Taker")
        assert (row["username"], row["email"], row["pending_email"]) == (
            "Taker",
            payload["user"]["email"],
            None,
        )
        assert await app.mailbox.mails() == []

    async def test_the_losers_of_a_race_for_one_username_are_told_it_is_taken(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        """Two app instances: only the unique index decides; TAKEN, never an internal error."""
        wanted = unique_username("race")
        async with running_app(settings) as first, running_app(settings) as second:
            payloads = [await register(first) for _ in range(4)]
            bodies = await asyncio.gather(
                *(
                    gql(
                        first if n % 2 else second,
                        UPDATE,
                        {"input": {"username": wanted, "currentPassword": STRONG_PASSWORD}},
                        token=payload["accessToken"],
                    )
                    for n, payload in enumerate(payloads)
                )
            )

        answers = [
            body["errors"][0]["extensions"].get("reason") if body.get("errors") else "ok"
            for body in bodies
        ]
        assert sorted(answers) == ["TAKEN", "TAKEN", "TAKEN", "ok"], bodies
        for body, payload in zip(bodies, payloads, strict=True):
            if body.get("errors"):
                assert_error(body, "BAD_USER_INPUT", field="username", reason="TAKEN")
                username = payload["user"]["username"]
                assert database.user_row(username)["username"] == username

    @pytest.mark.parametrize(
        ("username", "reason"),
        [("", "TOO_SHORT"), ("ab", "TOO_SHORT"), ("x" * 33, "TOO_LONG"), ("no spaces", "INVALID")],
    )
    async def test_an_invalid_username_is_refused(
        self, app: MailApp, username: str, reason: str
    ) -> None:
        payload = await register(app.client)

        body = await update(app, payload["accessToken"], username=username)

        assert_error(body, "BAD_USER_INPUT", field="username", reason=reason)


class TestPendingEmail:
    async def test_a_new_address_waits_for_its_link_and_the_old_one_is_told(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Mover")
        old = payload["user"]["email"]
        database.update_user(payload["user"]["id"], email_verified=True)

        body = await update(app, payload["accessToken"], email="Moved@Example.com")

        assert data_of(body, "updateProfile") == {
            "id": payload["user"]["id"],
            "username": "Mover",
            "email": old,
            "emailVerified": True,
            "pendingEmail": "moved@example.com",
        }
        assert sorted(subjects(await app.mailbox.mails())) == sorted(
            [("moved@example.com", VERIFY_SUBJECT), (old, NOTICE_SUBJECT)]
        )
        notice = await app.mailbox.only(old)
        assert "m***@example.com" in notice.body  # masked: no room for a message of one's own
        assert "moved@example.com" not in notice.body
        assert "http" not in notice.body and "token" not in notice.body
        await login(app.client, old)  # the old address still signs in...
        refused = await login_body(app, "moved@example.com")  # ...the pending one does not
        assert_error(refused, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_the_link_makes_it_the_address_and_the_old_one_stops_working(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Mover")
        old = payload["user"]["email"]
        await update(app, payload["accessToken"], email="moved@example.com")
        link = await app.mailbox.token("moved@example.com", VERIFY_SUBJECT)

        verified = await gql(app.client, VERIFY, {"token": link})

        assert data_of(verified, "verifyEmail") == {
            "email": "moved@example.com",
            "emailVerified": True,
            "pendingEmail": None,
        }
        me = await gql(app.client, "{ me { email pendingEmail } }", token=payload["accessToken"])
        assert data_of(me, "me") == {"email": "moved@example.com", "pendingEmail": None}
        assert database.user_row("Mover")["email_key"] == "moved@example.com"
        await login(app.client, "moved@example.com")
        assert_error(await login_body(app, old), "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        again = await gql(app.client, VERIFY, {"token": link})
        assert_error(again, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_a_reset_link_mailed_before_the_move_dies_with_it(self, app: MailApp) -> None:
        payload = await register(app.client, "Mover")
        old = payload["user"]["email"]
        await gql(app.client, REQUEST_RESET, {"email": old})
        reset_link = await app.mailbox.token(old, RESET_SUBJECT)
        await update(app, payload["accessToken"], email="moved@example.com")
        link = await app.mailbox.token("moved@example.com", VERIFY_SUBJECT)
        data_of(await gql(app.client, VERIFY, {"token": link}), "verifyEmail")

        body = await gql(
            app.client, RESET, {"input": {"token": reset_link, "newPassword": ATTACKER_PASSWORD}}
        )

        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_reset_mails_go_to_the_current_address_never_the_pending_one(
        self, app: MailApp
    ) -> None:
        payload = await register(app.client, "Mover")
        old = payload["user"]["email"]
        await update(app, payload["accessToken"], email="moved@example.com")
        before = len(await app.mailbox.mails())

        pending = await gql(app.client, REQUEST_RESET, {"email": "moved@example.com"})
        current = await gql(app.client, REQUEST_RESET, {"email": old})

        assert pending == current == {"data": {"requestPasswordReset": True}}
        mails = (await app.mailbox.mails())[before:]
        assert subjects(mails) == [(old, RESET_SUBJECT)]

    async def test_a_pending_address_does_not_block_its_registration_by_someone_else(
        self, app: MailApp
    ) -> None:
        payload = await register(app.client, "Slow")
        await update(app, payload["accessToken"], email="wanted@example.com")
        link = await app.mailbox.token("wanted@example.com", VERIFY_SUBJECT)

        await register(app.client, "Quick", "Wanted@example.com")
        confirmed = await gql(app.client, VERIFY, {"token": link})

        assert_error(confirmed, "BAD_USER_INPUT", field="email", reason="TAKEN")
        me = await gql(app.client, "{ me { email pendingEmail } }", token=payload["accessToken"])
        assert data_of(me, "me") == {
            "email": payload["user"]["email"],
            "pendingEmail": "wanted@example.com",
        }

    async def test_an_address_registered_by_another_account_is_refused_at_once(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        await register(app.client, email="owner@example.com")
        payload = await register(app.client, "Squatter")

        body = await update(app, payload["accessToken"], email="OWNER@example.com")

        assert_error(body, "BAD_USER_INPUT", field="email", reason="TAKEN")
        assert database.user_row("Squatter")["pending_email"] is None
        assert await app.mailbox.mails() == []

    async def test_a_new_pending_address_voids_the_link_of_the_previous_one(
        self, app: MailApp
    ) -> None:
        payload = await register(app.client)
        await update(app, payload["accessToken"], email="first@example.com")
        first = await app.mailbox.token("first@example.com", VERIFY_SUBJECT)

        await update(app, payload["accessToken"], email="second@example.com")

        body = await gql(app.client, VERIFY, {"token": first})
        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")
        second = await app.mailbox.token("second@example.com", VERIFY_SUBJECT)
        verified = await gql(app.client, VERIFY, {"token": second})
        assert data_of(verified, "verifyEmail")["email"] == "second@example.com"

    async def test_giving_the_current_address_withdraws_the_pending_change(
        self, app: MailApp
    ) -> None:
        payload = await register(app.client)
        await update(app, payload["accessToken"], email="elsewhere@example.com")
        link = await app.mailbox.token("elsewhere@example.com", VERIFY_SUBJECT)

        body = await update(
            app, payload["accessToken"], current_password=None, email=payload["user"]["email"]
        )

        assert data_of(body, "updateProfile")["pendingEmail"] is None
        refused = await gql(app.client, VERIFY, {"token": link})
        assert_error(refused, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_a_confirmation_for_the_current_address_is_superseded_by_the_change(
        self, app: MailApp
    ) -> None:
        payload = await register(app.client)
        await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])
        old_link = await app.mailbox.token(payload["user"]["email"], VERIFY_SUBJECT)

        await update(app, payload["accessToken"], email="elsewhere@example.com")

        body = await gql(app.client, VERIFY, {"token": old_link})
        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_request_email_verification_resends_the_link_for_the_pending_address(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client)
        database.update_user(payload["user"]["id"], email_verified=True)
        await update(app, payload["accessToken"], email="pending@example.com")
        first = await app.mailbox.token("pending@example.com", VERIFY_SUBJECT)

        resent = await gql(app.client, REQUEST_VERIFICATION, token=payload["accessToken"])

        assert data_of(resent, "requestEmailVerification") is True
        second = await app.mailbox.token("pending@example.com", VERIFY_SUBJECT)
        assert second != first
        verified = await gql(app.client, VERIFY, {"token": second})
        assert data_of(verified, "verifyEmail")["email"] == "pending@example.com"

    async def test_the_same_address_again_changes_nothing(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Stayer")
        database.update_user(payload["user"]["id"], email_verified=True)

        body = await update(app, payload["accessToken"], email=payload["user"]["email"].upper())

        assert data_of(body, "updateProfile")["emailVerified"] is True
        assert data_of(body, "updateProfile")["pendingEmail"] is None
        assert await app.mailbox.mails() == []

    async def test_a_fullwidth_spelling_of_the_current_address_is_the_same_address(
        self, app: MailApp
    ) -> None:
        payload = await register(app.client, "Wide", "wide@example.com")

        body = await update(app, payload["accessToken"], email="\uff57ide@\uff45xample.com")

        assert data_of(body, "updateProfile")["pendingEmail"] is None
        assert await app.mailbox.mails() == []

    async def test_an_invalid_address_is_refused(self, app: MailApp) -> None:
        payload = await register(app.client)

        body = await update(app, payload["accessToken"], email="not-an-address")

        assert_error(body, "BAD_USER_INPUT", field="email", reason="INVALID")
