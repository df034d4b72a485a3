"""Creating and revoking API keys as an attacker holding a session (or a password) would try:
re-authentication and step-up, the cap, bad input, other users' keys, ADMIN_REQUIRES_MFA,
and the owner hearing of each key made or revoked. Parallel creations are in
tests/db/test_api_key_races.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gql_auth.core.models import utcnow
from gql_auth.settings import Settings
from tests.support.api_keys import (
    API_KEYS,
    REVOKE_API_KEY,
    USER_SCOPES,
    api_key_rows,
    api_key_secret,
    create_api_key,
    create_api_key_body,
    update_api_key,
)
from tests.support.helpers import (
    ADMIN_DASHBOARD,
    LOGIN,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    login,
    make_settings,
    register,
    register_admin,
    running_app,
    session_id_of,
)
from tests.support.mailbox import MailApp, running_mail_app
from tests.support.mfa import enable_totp, sign_in_with_totp, user_with_totp
from tests.support.notices import verified_user

MAX_KEYS = 2
WRONG = "Wrong-Password-Entirely-9"
KEY_CREATED = "An API key was created"
KEY_REVOKED = "An API key was revoked"


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(
        database.url,
        max_api_keys_per_user=MAX_KEYS,
        rate_limit_login_account_client="2/15minutes",
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client


def mfa_settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, admin_requires_mfa=True)


async def admin_with_totp(client: httpx.AsyncClient, database: SqlDatabase) -> dict[str, Any]:
    """An ADMIN holding TOTP, signed in with it (amr pwd otp): its AuthPayload."""
    admin = await register_admin(client, database)
    secret, _ = await enable_totp(client, admin["accessToken"])
    return await sign_in_with_totp(client, admin["user"]["username"], secret)


async def revoke(client: httpx.AsyncClient, key_id: str, token: str) -> dict[str, Any]:
    return await gql(client, REVOKE_API_KEY, {"id": key_id}, token=token)


class TestReauthentication:
    async def test_a_wrong_password_is_invalid_credentials_and_a_failed_sign_in(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        username = owner["user"]["username"]

        for _ in range(2):  # RATE_LIMIT_LOGIN_ACCOUNT_CLIENT is 2 here
            body = await create_api_key_body(
                client, owner["accessToken"], scopes=["profile:read"], password=WRONG
            )
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        third = await create_api_key_body(client, owner["accessToken"], scopes=["profile:read"])
        signing_in = await gql(
            client, LOGIN, {"input": {"username": username, "password": STRONG_PASSWORD}}
        )

        assert event_kinds(database, owner["user"]["id"]).count("LOGIN_FAILED") == 2
        assert_error(third, "RATE_LIMITED")  # even with the right password now
        assert_error(signing_in, "RATE_LIMITED")
        assert api_key_rows(database) == []

    async def test_no_password_at_all_is_required_for_an_account_with_one(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)

        body = await create_api_key_body(
            client, owner["accessToken"], scopes=["profile:read"], password=None
        )

        assert_error(body, "BAD_USER_INPUT", field="currentPassword", reason="REQUIRED")
        assert api_key_rows(database) == []

    async def test_a_password_only_session_of_an_account_with_totp_must_step_up(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner, secret, _ = await user_with_totp(client)  # its session proved only the password

        refused = await create_api_key_body(client, owner["accessToken"], scopes=["profile:read"])
        stepped_up = await sign_in_with_totp(client, owner["user"]["username"], secret)
        created = await create_api_key_body(
            client, stepped_up["accessToken"], scopes=["profile:read"]
        )

        assert_error(refused, "FORBIDDEN", reason="STEP_UP_REQUIRED")
        assert data_of(created, "createApiKey")["secret"].startswith("gqa_")
        assert len(api_key_rows(database)) == 1

    async def test_an_account_without_a_password_needs_a_recent_sign_in(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        """As social sign-in makes one: no password hash at all."""
        owner = await register(client)
        database.update_user(owner["user"]["id"], password_hash=None)
        fresh = await create_api_key_body(
            client, owner["accessToken"], scopes=["profile:read"], password=None
        )

        database.update_session(session_id_of(owner), created_at=utcnow() - timedelta(minutes=11))
        stale = await create_api_key_body(
            client, owner["accessToken"], scopes=["profile:read"], password=None
        )
        guessed = await create_api_key_body(
            client, owner["accessToken"], scopes=["profile:read"], password=STRONG_PASSWORD
        )

        assert data_of(fresh, "createApiKey")["secret"]
        assert_error(stale, "FORBIDDEN", reason="STEP_UP_REQUIRED")
        assert_error(guessed, "FORBIDDEN", reason="STEP_UP_REQUIRED")  # no password to give
        assert len(api_key_rows(database)) == 1

    async def test_a_key_created_from_a_revoked_session_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        other = await login(client, owner["user"]["username"])
        assert data_of(
            await gql(client, "mutation { logoutAll }", token=other["accessToken"]), "logoutAll"
        )

        body = await create_api_key_body(client, owner["accessToken"], scopes=["profile:read"])

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
        assert api_key_rows(database) == []


class TestTheCap:
    async def test_one_key_beyond_max_api_keys_per_user_is_limit_reached(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        for _ in range(MAX_KEYS):
            await create_api_key(client, owner["accessToken"], ["profile:read"])

        body = await create_api_key_body(client, owner["accessToken"], scopes=["profile:read"])

        assert_error(body, "BAD_USER_INPUT", reason="LIMIT_REACHED")
        assert len(api_key_rows(database)) == MAX_KEYS

    async def test_revoked_and_expired_keys_do_not_count(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        token = owner["accessToken"]
        revoked = await create_api_key(client, token, ["profile:read"])
        expired = await create_api_key(client, token, ["profile:read"], expires_in_days=1)
        data_of(await revoke(client, revoked["apiKey"]["id"], token), "revokeApiKey")
        update_api_key(
            database, expired["apiKey"]["id"], expires_at=utcnow() - timedelta(seconds=1)
        )

        for _ in range(MAX_KEYS):
            await create_api_key(client, token, ["profile:read"])
        beyond = await create_api_key_body(client, token, scopes=["profile:read"])

        assert_error(beyond, "BAD_USER_INPUT", reason="LIMIT_REACHED")
        assert len(data_of(await gql(client, API_KEYS, token=token), "apiKeys")) == MAX_KEYS

    async def test_each_user_has_a_cap_of_their_own(self, client: httpx.AsyncClient) -> None:
        first, second = await register(client), await register(client)
        for _ in range(MAX_KEYS):
            await create_api_key(client, first["accessToken"], ["profile:read"])

        assert await api_key_secret(client, second["accessToken"], ["profile:read"])


class TestInputs:
    @pytest.mark.parametrize("days", [0, -1, 3651, 2**31 - 1])
    async def test_expires_in_days_outside_1_to_3650_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, days: int
    ) -> None:
        owner = await register(client)

        body = await create_api_key_body(
            client, owner["accessToken"], scopes=["profile:read"], expires_in_days=days
        )

        assert_error(body, "BAD_USER_INPUT", field="expiresInDays")
        assert api_key_rows(database) == []

    @pytest.mark.parametrize("days", [1, 3650])
    async def test_the_bounds_themselves_are_accepted(
        self, client: httpx.AsyncClient, days: int
    ) -> None:
        owner = await register(client)
        before = utcnow()

        created = await create_api_key(
            client, owner["accessToken"], ["profile:read"], expires_in_days=days
        )

        expires = created["apiKey"]["expiresAt"]
        assert expires is not None and expires.startswith(str((before + timedelta(days=days)).year))

    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("", "REQUIRED"),
            ("   ", "REQUIRED"),
            ("x" * 101, "TOO_LONG"),
            ("line\nbreak", "INVALID"),
            ("bell\x07", "INVALID"),
            ("right-to-left \u202e override", "INVALID"),
            ("line\u2028separator", "INVALID"),
        ],
    )
    async def test_a_bad_name_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, name: str, reason: str
    ) -> None:
        owner = await register(client)

        body = await create_api_key_body(
            client, owner["accessToken"], scopes=["profile:read"], name=name
        )

        assert_error(body, "BAD_USER_INPUT", field="name", reason=reason)
        assert api_key_rows(database) == []

    async def test_a_name_is_kept_trimmed_and_repeated_scopes_once_in_order(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)

        created = await create_api_key(
            client,
            owner["accessToken"],
            ["organizations:read", "profile:read", "organizations:read"],
            name="  deploy bot  ",
        )

        assert created["apiKey"]["name"] == "deploy bot"
        assert created["apiKey"]["scopes"] == ["profile:read", "organizations:read"]


class TestAdminsUnderMfa:
    async def test_a_key_made_from_a_password_only_session_cannot_use_the_admin_role(
        self, database: SqlDatabase
    ) -> None:
        """A stolen ADMIN password makes a key, but not a way around ADMIN_REQUIRES_MFA."""
        async with running_app(mfa_settings(database)) as client:
            admin = await register_admin(client, database)
            secret = await api_key_secret(
                client, admin["accessToken"], ["profile:read", "admin:read"]
            )

            refused = await gql(client, ADMIN_DASHBOARD, token=secret)
            me = await gql(client, ME, token=secret)

        assert_error(refused, "FORBIDDEN", reason="MFA_REQUIRED")
        assert data_of(me, "me")["role"] == "ADMIN"

    async def test_a_key_made_from_a_second_factor_session_uses_it(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(mfa_settings(database)) as client:
            admin = await admin_with_totp(client, database)
            secret = await api_key_secret(client, admin["accessToken"], ["admin:read"])

            body = await gql(client, ADMIN_DASHBOARD, token=secret)

        assert data_of(body, "adminDashboard")["totalUsers"] == 1


USER_API_KEYS = "query U($id: ID!) { userApiKeys(userId: $id) { id name prefix scopes } }"


class TestListing:
    async def test_api_keys_lists_only_the_caller_s_own_live_keys_newest_first(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, other = await register(client), await register(client)
        older = await create_api_key(client, owner["accessToken"], ["profile:read"], name="a")
        newer = await create_api_key(client, owner["accessToken"], ["profile:read"], name="b")
        await create_api_key(client, other["accessToken"], ["profile:read"], name="theirs")

        listed = data_of(await gql(client, API_KEYS, token=owner["accessToken"]), "apiKeys")

        assert [key["id"] for key in listed] == [newer["apiKey"]["id"], older["apiKey"]["id"]]

    async def test_user_api_keys_is_for_admins_only(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner, snoop = await register(client), await register(client)
        admin = await register_admin(client, database)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])
        variables = {"id": owner["user"]["id"]}

        refused = await gql(client, USER_API_KEYS, variables, token=snoop["accessToken"])
        listed = await gql(client, USER_API_KEYS, variables, token=admin["accessToken"])
        nobody = await gql(client, USER_API_KEYS, {"id": "abc"}, token=admin["accessToken"])

        assert_error(refused, "FORBIDDEN", path=["userApiKeys"])
        assert [key["id"] for key in data_of(listed, "userApiKeys")] == [created["apiKey"]["id"]]
        assert data_of(nobody, "userApiKeys") == []

    async def test_under_admin_requires_mfa_user_api_keys_needs_a_second_factor(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(mfa_settings(database)) as client:
            owner = await register(client)
            await create_api_key(client, owner["accessToken"], ["profile:read"])
            password_only = await register_admin(client, database)

            body = await gql(
                client,
                USER_API_KEYS,
                {"id": owner["user"]["id"]},
                token=password_only["accessToken"],
            )

        assert_error(body, "FORBIDDEN", reason="MFA_REQUIRED")


class TestRevoke:
    async def test_another_user_s_key_is_false_and_keeps_working(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner, attacker = await register(client), await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        body = await revoke(client, created["apiKey"]["id"], attacker["accessToken"])

        assert data_of(body, "revokeApiKey") is False
        assert data_of(await gql(client, ME, token=created["secret"]), "me")
        assert "API_KEY_REVOKED" not in event_kinds(database)

    @pytest.mark.parametrize("key_id", ["", "abc", "-1", "1.0", "0x1", "9" * 30, " 1"])
    async def test_an_id_that_names_no_key_is_false(
        self, client: httpx.AsyncClient, key_id: str
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        body = await revoke(client, key_id, owner["accessToken"])

        assert data_of(body, "revokeApiKey") is False
        assert data_of(await gql(client, ME, token=created["secret"]), "me")

    async def test_revoking_twice_is_true_then_false_with_one_event(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        first = await revoke(client, created["apiKey"]["id"], owner["accessToken"])
        second = await revoke(client, created["apiKey"]["id"], owner["accessToken"])

        assert data_of(first, "revokeApiKey") is True
        assert data_of(second, "revokeApiKey") is False
        assert event_kinds(database, owner["user"]["id"]).count("API_KEY_REVOKED") == 1

    async def test_an_admin_revokes_any_user_s_key_and_the_event_is_the_owner_s(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        admin = await register_admin(client, database)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        body = await revoke(client, created["apiKey"]["id"], admin["accessToken"])

        assert data_of(body, "revokeApiKey") is True
        assert_error(
            await gql(client, ME, token=created["secret"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )
        assert "API_KEY_REVOKED" in event_kinds(database, owner["user"]["id"])
        assert "API_KEY_REVOKED" not in event_kinds(database, admin["user"]["id"])

    async def test_under_admin_requires_mfa_an_admin_needs_a_second_factor_for_others_keys(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(mfa_settings(database)) as client:
            owner = await register(client)
            created = await create_api_key(client, owner["accessToken"], ["profile:read"])
            password_only = await register_admin(client, database)
            with_factor = await admin_with_totp(client, database)

            refused = await revoke(client, created["apiKey"]["id"], password_only["accessToken"])
            still = await gql(client, ME, token=created["secret"])
            revoked = await revoke(client, created["apiKey"]["id"], with_factor["accessToken"])

        assert_error(refused, "FORBIDDEN", reason="MFA_REQUIRED")
        assert data_of(still, "me")
        assert data_of(revoked, "revokeApiKey") is True

    async def test_under_admin_requires_mfa_an_admin_still_revokes_their_own_key(
        self, database: SqlDatabase
    ) -> None:
        """Taking one's own key out of use needs no ADMIN role: a USER may, so may an ADMIN
        whose session proved no second factor (say, right after the key leaked)."""
        async with running_app(mfa_settings(database)) as client:
            admin = await register_admin(client, database)
            created = await create_api_key(client, admin["accessToken"], ["profile:read"])

            body = await revoke(client, created["apiKey"]["id"], admin["accessToken"])
            after = await gql(client, ME, token=created["secret"])

        assert data_of(body, "revokeApiKey") is True
        assert_error(after, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_key_cannot_revoke_itself_or_its_siblings(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], USER_SCOPES)
        sibling = await create_api_key(client, owner["accessToken"], ["profile:read"])

        for key_id in (created["apiKey"]["id"], sibling["apiKey"]["id"]):
            body = await revoke(client, key_id, created["secret"])
            assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED")
        assert data_of(await gql(client, ME, token=sibling["secret"]), "me")


class TestNotices:
    @pytest.fixture
    async def app(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> AsyncIterator[MailApp]:
        async with running_mail_app(make_settings(database.url), caplog) as app:
            yield app

    async def test_the_owner_hears_of_a_key_made_and_revoked_without_its_secret(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        owner = await verified_user(app, database, "KeyHolder")
        address = owner["user"]["email"]
        created = await create_api_key(app.client, owner["accessToken"], ["profile:read"])
        data_of(
            await revoke(app.client, created["apiKey"]["id"], owner["accessToken"]),
            "revokeApiKey",
        )

        mails = await app.mailbox.mails(address)

        # Each is sent in the background after its own commit: either may be logged first.
        assert sorted(mail.subject for mail in mails) == sorted([KEY_CREATED, KEY_REVOKED])
        assert "KeyHolder" in mails[0].body
        for mail in mails:
            assert created["secret"] not in mail.body
            assert created["secret"][8:-6] not in mail.body
            assert "http" not in mail.body

    async def test_an_admin_revoking_tells_the_owner_and_not_the_admin(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        owner = await verified_user(app, database)
        admin = await register_admin(app.client, database)
        database.update_user(admin["user"]["id"], email_verified=True)
        created = await create_api_key(app.client, owner["accessToken"], ["profile:read"])

        data_of(
            await revoke(app.client, created["apiKey"]["id"], admin["accessToken"]),
            "revokeApiKey",
        )

        subjects = [mail.subject for mail in await app.mailbox.mails(owner["user"]["email"])]
        assert sorted(subjects) == sorted([KEY_CREATED, KEY_REVOKED])  # sent in the background
        assert await app.mailbox.mails(admin["user"]["email"]) == []

    async def test_a_refused_creation_or_revocation_tells_nobody(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        owner = await verified_user(app, database)
        other = await verified_user(app, database)
        created = await create_api_key(app.client, other["accessToken"], ["profile:read"])

        await create_api_key_body(
            app.client, owner["accessToken"], scopes=["profile:read"], password=WRONG
        )
        await revoke(app.client, created["apiKey"]["id"], owner["accessToken"])

        assert await app.mailbox.mails(owner["user"]["email"]) == []
        assert [m.subject for m in await app.mailbox.mails(other["user"]["email"])] == [KEY_CREATED]
