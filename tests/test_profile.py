"""updateProfile: username and e-mail under the registration rules, and re-verification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.helpers import (
    ME,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    register,
)
from tests.mailbox import MailApp, running_mail_app

UPDATE = """
mutation U($input: UpdateProfileInput!) {
  updateProfile(input: $input) { id username email emailVerified }
}"""
VERIFY = "mutation V($token: String!) { verifyEmail(token: $token) { emailVerified } }"
VERIFY_SUBJECT = "Confirm your e-mail address"


@pytest.fixture
async def app(settings: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


async def update(app: MailApp, token: str, **fields: Any) -> dict[str, Any]:
    return await gql(app.client, UPDATE, {"input": fields}, token=token)


class TestUsername:
    async def test_a_new_username_is_used_for_sign_in(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "OldName")

        body = await update(app, payload["accessToken"], username="NewName")

        assert data_of(body, "updateProfile")["username"] == "NewName"
        assert database.user_row("newname")["username_key"] == "newname"
        await login(app.client, "newname")
        refused = await gql(
            app.client,
            "mutation L($i: LoginInput!) { login(input: $i) { accessToken } }",
            {"i": {"username": "OldName", "password": "Quokka-Harbour-Lantern-42"}},
        )
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
        assert (row["username"], row["email"]) == ("Taker", payload["user"]["email"])

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


class TestEmail:
    async def test_a_new_address_is_unverified_and_mailed_a_confirmation(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Mover")
        database.update_user(payload["user"]["id"], email_verified=True)

        body = await update(app, payload["accessToken"], email="Moved@Example.com")

        assert data_of(body, "updateProfile") == {
            "id": payload["user"]["id"],
            "username": "Mover",
            "email": "moved@example.com",
            "emailVerified": False,
        }
        mail = await app.mailbox.only()
        assert (mail.to, mail.subject) == ("moved@example.com", VERIFY_SUBJECT)
        verified = await gql(app.client, VERIFY, {"token": mail.token})
        assert data_of(verified, "verifyEmail") == {"emailVerified": True}

    async def test_a_confirmation_for_the_former_address_stops_working(self, app: MailApp) -> None:
        payload = await register(app.client)
        await gql(app.client, "mutation { requestEmailVerification }", token=payload["accessToken"])
        old_token = await app.mailbox.token(payload["user"]["email"], VERIFY_SUBJECT)

        await update(app, payload["accessToken"], email="elsewhere@example.com")

        body = await gql(app.client, VERIFY, {"token": old_token})
        assert_error(body, "BAD_USER_INPUT", field="token", reason="INVALID")

    async def test_an_address_taken_in_another_case_is_refused(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        await register(app.client, email="owner@example.com")
        payload = await register(app.client, "Squatter")

        body = await update(app, payload["accessToken"], email="OWNER@example.com")

        assert_error(body, "BAD_USER_INPUT", field="email", reason="TAKEN")
        assert database.user_row("Squatter")["email"] == payload["user"]["email"]
        assert await app.mailbox.mails() == []

    async def test_the_same_address_again_changes_nothing(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        payload = await register(app.client, "Stayer")
        database.update_user(payload["user"]["id"], email_verified=True)

        body = await update(app, payload["accessToken"], email=payload["user"]["email"].upper())

        assert data_of(body, "updateProfile")["emailVerified"] is True
        assert await app.mailbox.mails() == []

    async def test_an_invalid_address_is_refused(self, app: MailApp) -> None:
        payload = await register(app.client)

        body = await update(app, payload["accessToken"], email="not-an-address")

        assert_error(body, "BAD_USER_INPUT", field="email", reason="INVALID")


class TestUpdateProfile:
    @pytest.mark.parametrize("fields", [{}, {"username": None, "email": None}])
    async def test_omitted_or_null_fields_are_left_alone(
        self, app: MailApp, database: SqlDatabase, fields: dict[str, Any]
    ) -> None:
        payload = await register(app.client, "Keeper")

        body = await update(app, payload["accessToken"], **fields)

        assert data_of(body, "updateProfile") == {
            "id": payload["user"]["id"],
            "username": "Keeper",
            "email": payload["user"]["email"],
            "emailVerified": False,
        }

    async def test_changing_the_username_leaves_the_email_alone(self, app: MailApp) -> None:
        payload = await register(app.client, "Partial")

        body = await update(app, payload["accessToken"], username="Partial2")

        assert data_of(body, "updateProfile")["email"] == payload["user"]["email"]
        assert await app.mailbox.mails() == []

    async def test_both_fields_change_together(self, app: MailApp) -> None:
        payload = await register(app.client)

        body = await update(app, payload["accessToken"], username="Both", email="both@example.com")

        me = await gql(app.client, ME, token=payload["accessToken"])
        assert data_of(body, "updateProfile")["username"] == "Both"
        assert data_of(me, "me")["email"] == "both@example.com"

    async def test_one_bad_field_changes_nothing(self, app: MailApp, database: SqlDatabase) -> None:
        payload = await register(app.client, "Atomic")

        body = await update(app, payload["accessToken"], username="Atomic2", email="bad")

        assert_error(body, "BAD_USER_INPUT", field="email", reason="INVALID")
        assert database.user_row("Atomic")["username"] == "Atomic"

    async def test_updating_needs_a_sign_in(self, app: MailApp) -> None:
        body = await gql(app.client, UPDATE, {"input": {"username": "Anonymous"}})

        assert_error(body, "UNAUTHENTICATED")
