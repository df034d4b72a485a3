"""updateProfile: re-authentication, the registration rules, stolen tokens and field updates.
Username changes raced in parallel and pending e-mail addresses (uniqueness in any
spelling) are in tests/db/test_profile.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.helpers import (
    ME,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    login,
    register,
    register_admin,
)
from tests.support.mailbox import MailApp, running_mail_app
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

PRIVATE_USER = "query U($id: ID!) { user(id: $id) { id pendingEmail } }"


@pytest.fixture
async def app(settings: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


class TestCurrentPassword:
    @pytest.mark.parametrize(
        "fields", [{"username": "Renamed"}, {"email": "moved@example.com"}], ids=["name", "email"]
    )
    @pytest.mark.parametrize("given", [None, ""], ids=["omitted", "empty"])
    async def test_a_change_without_it_is_required_and_changes_nothing(
        self, app: MailApp, database: SqlDatabase, fields: dict[str, str], given: str | None
    ) -> None:
        payload = await register(app.client, "Guarded")
        if given is not None:
            fields = {**fields, "currentPassword": given}

        body = await update(app, payload["accessToken"], current_password=None, **fields)

        assert_error(body, "BAD_USER_INPUT", field="currentPassword", reason="REQUIRED")
        row = database.user_row("Guarded")
        assert (row["username"], row["email"], row["pending_email"]) == (
            "Guarded",
            payload["user"]["email"],
            None,
        )
        assert "LOGIN_FAILED" not in event_kinds(database, payload["user"]["id"])
        assert await app.mailbox.mails() == []

    @pytest.mark.parametrize(
        "fields", [{"username": "Renamed"}, {"email": "moved@example.com"}], ids=["name", "email"]
    )
    async def test_a_wrong_one_is_invalid_credentials_and_a_failed_sign_in(
        self, app: MailApp, database: SqlDatabase, fields: dict[str, str]
    ) -> None:
        payload = await register(app.client, "Guarded")

        body = await update(
            app, payload["accessToken"], current_password="Not-The-Password-55", **fields
        )

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        row = database.user_row("Guarded")
        assert (row["username"], row["pending_email"]) == ("Guarded", None)
        assert event_kinds(database, payload["user"]["id"]).count("LOGIN_FAILED") == 1
        assert await app.mailbox.mails() == []

    async def test_a_case_change_of_the_username_needs_it_too(self, app: MailApp) -> None:
        payload = await register(app.client, "casey")

        body = await update(app, payload["accessToken"], current_password=None, username="Casey")

        assert_error(body, "BAD_USER_INPUT", field="currentPassword", reason="REQUIRED")

    async def test_giving_the_values_in_force_needs_none(self, app: MailApp) -> None:
        payload = await register(app.client, "Stayer")

        body = await update(
            app,
            payload["accessToken"],
            current_password=None,
            username="Stayer",
            email=payload["user"]["email"].upper(),
        )

        assert data_of(body, "updateProfile")["username"] == "Stayer"
        assert await app.mailbox.mails() == []


class TestPendingEmailPrivacy:
    async def test_others_cannot_read_it_and_admins_can(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        owner = await register(app.client)
        await update(app, owner["accessToken"], email="secret-move@example.com")
        other = await register(app.client)
        admin = await register_admin(app.client, database)
        variables = {"id": owner["user"]["id"]}

        as_other = await gql(app.client, PRIVATE_USER, variables, token=other["accessToken"])
        as_anonymous = await gql(app.client, PRIVATE_USER, variables)
        as_admin = await gql(app.client, PRIVATE_USER, variables, token=admin["accessToken"])
        as_owner = await gql(app.client, PRIVATE_USER, variables, token=owner["accessToken"])

        assert_error(as_other, "FORBIDDEN", path=["user", "pendingEmail"])
        assert_error(as_anonymous, "UNAUTHENTICATED", path=["user", "pendingEmail"])
        assert "secret-move" not in str(as_other) + str(as_anonymous)
        assert data_of(as_admin, "user")["pendingEmail"] == "secret-move@example.com"
        assert data_of(as_owner, "user")["pendingEmail"] == "secret-move@example.com"


class TestStolenAccessToken:
    """The reviewer's attack: a victim's access token, no password, and a mailbox of one's own."""

    async def test_the_token_alone_cannot_move_the_account_nor_reset_it(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        victim = await register(app.client, "Victim")
        stolen = victim["accessToken"]

        moved = await update(app, stolen, current_password=None, email="attacker@evil.example")
        guessed = await update(
            app, stolen, current_password="Guess-Number-One-11", email="attacker@evil.example"
        )
        requested = await gql(app.client, REQUEST_RESET, {"email": "attacker@evil.example"})

        assert_error(moved, "BAD_USER_INPUT", field="currentPassword", reason="REQUIRED")
        assert_error(guessed, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert data_of(requested, "requestPasswordReset") is True
        assert await app.mailbox.mails("attacker@evil.example") == []
        assert await app.mailbox.mails() == []
        row = database.user_row("Victim")
        assert (row["email"], row["pending_email"]) == (victim["user"]["email"], None)
        assert_error(
            await login_body(app, "Victim", ATTACKER_PASSWORD),
            "UNAUTHENTICATED",
            reason="INVALID_CREDENTIALS",
        )
        await login(app.client, "Victim")  # the owner is not locked out

    async def test_with_the_password_too_the_owner_is_warned_and_a_reset_undoes_it(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        victim = await register(app.client, "Victim")
        address = victim["user"]["email"]
        database.update_user(victim["user"]["id"], email_verified=True)  # notices need it
        # The intruder knows the password as well: the change becomes pending, nothing more.
        await update(app, victim["accessToken"], email="attacker@evil.example")
        attacker_link = await app.mailbox.token("attacker@evil.example", VERIFY_SUBJECT)
        assert (await app.mailbox.only(address)).subject == NOTICE_SUBJECT
        refused = await gql(app.client, REQUEST_RESET, {"email": "attacker@evil.example"})
        assert data_of(refused, "requestPasswordReset") is True
        assert [m.subject for m in await app.mailbox.mails("attacker@evil.example")] == [
            VERIFY_SUBJECT
        ]

        # The owner reads the notice and resets the password through the address in force.
        await gql(app.client, REQUEST_RESET, {"email": address})
        reset_link = await app.mailbox.token(address, RESET_SUBJECT)
        reset = await gql(
            app.client, RESET, {"input": {"token": reset_link, "newPassword": "Owner-Is-Back-2026"}}
        )
        assert data_of(reset, "resetPassword") is True

        confirmed = await gql(app.client, VERIFY, {"token": attacker_link})
        assert_error(confirmed, "BAD_USER_INPUT", field="token", reason="INVALID")
        row = database.user_row("Victim")
        assert (row["email"], row["pending_email"]) == (address, None)
        me = await gql(app.client, ME, token=victim["accessToken"])
        assert_error(me, "UNAUTHENTICATED", reason="TOKEN_REVOKED")


class TestLegitimateChange:
    async def test_change_confirm_and_reset_end_to_end_through_the_mailbox(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Honest", "honest@old.example")
        database.update_user(payload["user"]["id"], email_verified=True)

        changed = await update(app, payload["accessToken"], email="honest@new.example")
        assert data_of(changed, "updateProfile")["pendingEmail"] == "honest@new.example"
        notice = await app.mailbox.only("honest@old.example")
        link = await app.mailbox.token("honest@new.example", VERIFY_SUBJECT)
        assert notice.subject == NOTICE_SUBJECT

        verified = await gql(app.client, VERIFY, {"token": link})
        assert data_of(verified, "verifyEmail")["email"] == "honest@new.example"

        await gql(app.client, REQUEST_RESET, {"email": "honest@old.example"})
        await gql(app.client, REQUEST_RESET, {"email": "honest@new.example"})
        assert [m.subject for m in await app.mailbox.mails("honest@old.example")] == [
            NOTICE_SUBJECT
        ]
        reset_link = await app.mailbox.token("honest@new.example", RESET_SUBJECT)
        reset = await gql(
            app.client, RESET, {"input": {"token": reset_link, "newPassword": "Fresh-Start-3031"}}
        )
        assert data_of(reset, "resetPassword") is True
        signed_in = await login(app.client, "honest@new.example", "Fresh-Start-3031")
        assert signed_in["user"]["username"] == "Honest"


class TestUpdateProfile:
    @pytest.mark.parametrize("fields", [{}, {"username": None, "email": None}])
    async def test_omitted_or_null_fields_are_left_alone(
        self, app: MailApp, database: SqlDatabase, fields: dict[str, Any]
    ) -> None:
        payload = await register(app.client, "Keeper")

        body = await update(app, payload["accessToken"], current_password=None, **fields)

        assert data_of(body, "updateProfile") == {
            "id": payload["user"]["id"],
            "username": "Keeper",
            "email": payload["user"]["email"],
            "emailVerified": False,
            "pendingEmail": None,
        }

    async def test_changing_the_username_leaves_the_email_alone(self, app: MailApp) -> None:
        payload = await register(app.client, "Partial")

        body = await update(app, payload["accessToken"], username="Partial2")

        assert data_of(body, "updateProfile")["email"] == payload["user"]["email"]
        assert await app.mailbox.mails() == []

    async def test_both_fields_change_together(self, app: MailApp) -> None:
        payload = await register(app.client)

        body = await update(app, payload["accessToken"], username="Both", email="both@example.com")

        me = await gql(app.client, "{ me { username pendingEmail } }", token=payload["accessToken"])
        assert data_of(body, "updateProfile")["username"] == "Both"
        assert data_of(me, "me") == {"username": "Both", "pendingEmail": "both@example.com"}

    async def test_one_bad_field_changes_nothing(self, app: MailApp, database: SqlDatabase) -> None:
        payload = await register(app.client, "Atomic")

        body = await update(app, payload["accessToken"], username="Atomic2", email="bad")

        assert_error(body, "BAD_USER_INPUT", field="email", reason="INVALID")
        assert database.user_row("Atomic")["username"] == "Atomic"

    async def test_updating_needs_a_sign_in(self, app: MailApp) -> None:
        body = await gql(app.client, UPDATE, {"input": {"username": "Anonymous"}})

        assert_error(body, "UNAUTHENTICATED")
