"""A password alone cannot add or remove a way into an account holding a factor (issue 21, 1).

The review's chain: an admin whose only factor is a passkey; the thief, with the
password, got a password-only session, enrolled their own TOTP (or passkey) and
was through ADMIN_REQUIRES_MFA. Each step is tried here, with a stolen password
and with a stolen password-only session, for TOTP and for passkeys.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.authenticator import SoftAuthenticator
from tests.support.helpers import (
    ADMIN_DASHBOARD,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    make_settings,
    register,
    running_app,
)
from tests.support.mfa import (
    CONFIRM,
    ENROLL,
    code_at,
    enable_totp,
    login_body,
    sign_in_with_totp,
    user_with_totp,
    verify,
)
from tests.support.passkeys import (
    DELETE,
    ORIGIN,
    PUBLIC_URL,
    add_passkey,
    begin_registration,
    finish_registration,
    passkey_session,
    user_with_passkey,
)


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, public_url=PUBLIC_URL, admin_requires_mfa=True)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client


def _step_up_required(body: dict[str, Any]) -> None:
    assert_error(body, "FORBIDDEN", reason="STEP_UP_REQUIRED")


async def _enroll(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    return await gql(client, ENROLL, {"password": STRONG_PASSWORD}, token=token)


class TestPasswordSignInToAnAccountWithAPasskey:
    async def test_answers_mfa_required_with_passkey_and_no_tokens(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, _, _ = await user_with_passkey(client)
        sessions_before = database.count("sessions")

        body = await login_body(client, account["user"]["username"])

        error = assert_error(body, "UNAUTHENTICATED", reason="MFA_REQUIRED")
        assert error["extensions"]["mfaMethods"] == ["PASSKEY"]
        assert "mfaToken" not in error["extensions"]  # verifyMfa has nothing to take
        assert body["data"] is None
        assert database.count("sessions") == sessions_before
        assert "LOGIN_SUCCEEDED" not in event_kinds(database, account["user"]["id"])

    async def test_the_passkey_sign_in_completes_it(self, client: httpx.AsyncClient) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        assert_error(await login_body(client, account["user"]["username"]), "UNAUTHENTICATED")

        signed_in = await passkey_session(client, account["user"]["username"], authenticator)

        assert data_of(
            await gql(client, "query { me { id } }", token=signed_in["accessToken"]), "me"
        )

    async def test_with_totp_too_every_method_is_offered_and_a_code_finishes(
        self, client: httpx.AsyncClient
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        username = account["user"]["username"]
        stepped_up = await passkey_session(client, username, authenticator)
        secret, _ = await enable_totp(client, stepped_up["accessToken"])

        error = assert_error(
            await login_body(client, username), "UNAUTHENTICATED", reason="MFA_REQUIRED"
        )

        assert error["extensions"]["mfaMethods"] == ["TOTP", "RECOVERY_CODE", "PASSKEY"]
        finished = await verify(client, error["extensions"]["mfaToken"], code_at(secret, 1))
        assert data_of(finished, "verifyMfa")["accessToken"]


class TestTheReviewedChain:
    async def test_an_admin_with_only_a_passkey_is_not_through_with_the_password(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin, authenticator, _ = await user_with_passkey(client)
        database.update_user(admin["user"]["id"], role="ADMIN")
        username = admin["user"]["username"]

        # The thief's first step: the password alone opens no session at all.
        assert_error(await login_body(client, username), "UNAUTHENTICATED", reason="MFA_REQUIRED")
        # A password-only session from before the passkey (stolen) is refused ADMIN fields...
        assert_error(
            await gql(client, ADMIN_DASHBOARD, token=admin["accessToken"]),
            "FORBIDDEN",
            reason="MFA_REQUIRED",
        )
        # ...and cannot add the thief's own factor, nor remove the owner's.
        _step_up_required(await _enroll(client, admin["accessToken"]))
        _step_up_required(
            await gql(
                client,
                "mutation B($p: String!) { beginPasskeyRegistration(currentPassword: $p) }",
                {"p": STRONG_PASSWORD},
                token=admin["accessToken"],
            )
        )
        passkeys_before = database.count("passkeys")
        # The owner's passkey sign-in still reaches the dashboard.
        owner = await passkey_session(client, username, authenticator)
        assert data_of(
            await gql(client, ADMIN_DASHBOARD, token=owner["accessToken"]), "adminDashboard"
        )
        assert database.count("passkeys") == passkeys_before
        assert database.count("totp_credentials") == 0


class TestAPasswordOnlySession:
    """A session that proved only the password: stolen with it, or older than the factor."""

    async def test_cannot_delete_a_passkey(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, _, passkey = await user_with_passkey(client)

        body = await gql(
            client,
            DELETE,
            {"id": passkey["id"], "password": STRONG_PASSWORD},
            token=account["accessToken"],
        )

        _step_up_required(body)
        assert database.count("passkeys") == 1
        assert "PASSKEY_REMOVED" not in event_kinds(database, account["user"]["id"])

    async def test_cannot_add_a_passkey_beside_totp(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, _, _ = await user_with_totp(client)

        _step_up_required(
            await gql(
                client,
                "mutation B($p: String!) { beginPasskeyRegistration(currentPassword: $p) }",
                {"p": STRONG_PASSWORD},
                token=account["accessToken"],
            )
        )
        assert database.count("passkey_challenges") == 0

    async def test_cannot_finish_a_passkey_begun_before_the_account_had_a_factor(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account = await register(client)
        thief = SoftAuthenticator(origin=ORIGIN)
        options = await begin_registration(client, account["accessToken"])  # no factor yet
        await enable_totp(client, account["accessToken"])  # the owner turns TOTP on

        body = await finish_registration(client, account["accessToken"], thief.create(options))

        _step_up_required(body)
        assert database.count("passkeys") == 0

    async def test_cannot_confirm_totp_begun_before_the_account_had_a_passkey(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account = await register(client)
        secret = data_of(await _enroll(client, account["accessToken"]), "enrollTotp")["secret"]
        await add_passkey(client, account["accessToken"], SoftAuthenticator(origin=ORIGIN))

        body = await gql(client, CONFIRM, {"code": code_at(secret)}, token=account["accessToken"])

        _step_up_required(body)
        assert database.count("recovery_codes") == 0
        assert "MFA_ENABLED" not in event_kinds(database, account["user"]["id"])

    async def test_may_add_the_first_factor(self, client: httpx.AsyncClient) -> None:
        account = await register(client)

        await enable_totp(client, account["accessToken"])

        error = assert_error(
            await login_body(client, account["user"]["username"]), "UNAUTHENTICATED"
        )
        assert error["extensions"]["mfaMethods"] == ["TOTP", "RECOVERY_CODE"]


class TestASessionThatProvedAFactor:
    async def test_a_passkey_session_may_add_totp_and_delete_the_passkey(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, authenticator, passkey = await user_with_passkey(client)
        stepped_up = await passkey_session(client, account["user"]["username"], authenticator)

        await enable_totp(client, stepped_up["accessToken"])
        deleted = await gql(
            client,
            DELETE,
            {"id": passkey["id"], "password": STRONG_PASSWORD},
            token=stepped_up["accessToken"],
        )

        assert data_of(deleted, "deletePasskey") is True
        assert database.count("passkeys") == 0

    async def test_a_totp_session_may_add_a_passkey(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, secret, _ = await user_with_totp(client)
        stepped_up = await sign_in_with_totp(client, account["user"]["username"], secret)

        await add_passkey(client, stepped_up["accessToken"], SoftAuthenticator(origin=ORIGIN))

        assert database.count("passkeys") == 1
        options = json.loads(await begin_registration(client, stepped_up["accessToken"]))
        assert len(options["excludeCredentials"]) == 1
