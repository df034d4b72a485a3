"""Security notices on every backend: at most RATE_LIMIT_NOTICE_EMAIL of them per recipient
under parallel changes, and nothing told of a change that was rolled back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gql_auth.settings import Settings
from tests.support.databases import Backend
from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    session_id_of,
)
from tests.support.mailbox import MailApp, running_mail_app
from tests.support.mfa import code_at
from tests.support.notices import (
    EMAIL_CHANGE,
    change_email,
    notices,
    verified_user,
)
from tests.support.passkeys import PUBLIC_URL
from tests.support.row_locks import lock_timeout_url, other_transaction, require_row_locks


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, public_url=PUBLIC_URL)


@pytest.fixture
async def app(settings: Settings, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


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
        require_row_locks(backend.name)
        impatient = lock_timeout_url(backend.name, database, seconds=1)
        async with running_mail_app(make_settings(impatient), caplog) as app:
            payload = await verified_user(app, database)
            token = payload["accessToken"]
            secret = data_of(
                await gql(app.client, ENROLL, {"p": STRONG_PASSWORD}, token=token), "enrollTotp"
            )["secret"]
            variables = {"code": code_at(secret), "token": payload["refreshToken"]}
            with other_transaction(backend.name, database) as other:
                other.execute(
                    "SELECT id FROM sessions WHERE id = %s FOR UPDATE", session_id_of(payload)
                )
                body = await gql(app.client, CONFIRM_AND_LOGOUT, variables, token=token)

            assert_error(body, "INTERNAL_SERVER_ERROR")
            assert database.count("totp_credentials") == 1  # still only pending
            assert database.rows("totp_credentials")[0]["enabled_at"] is None
            assert await app.mailbox.mails(payload["user"]["email"]) == []
