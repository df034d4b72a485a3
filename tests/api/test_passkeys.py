"""Passkeys through the real app: registration, deletion and passkeys as a second factor,
with a software authenticator over HTTP. Sign-ins (a challenge answered at once, names in
any case) and the limits are in tests/db/test_passkeys.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_auth.passkeys.passkeys import CREDENTIAL_JSON_MAX
from gql_auth.settings import Settings
from tests.support.authenticator import USER_PRESENT, SoftAuthenticator, b64url, unb64url
from tests.support.cli import call_cli
from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    assert_no_leak,
    claims_of,
    data_of,
    event_kinds,
    gql,
    make_settings,
    post_graphql,
    refresh,
    register,
    register_admin,
    running_app,
)
from tests.support.passkeys import (
    BEGIN_REGISTRATION,
    DASHBOARD_PASSKEYS,
    DELETE,
    FINISH_REGISTRATION,
    ORIGIN,
    PUBLIC_URL,
    add_passkey,
    begin_registration,
    finish_registration,
    passkey_session,
    refused,
    sign_in,
    user_with_passkey,
)

MFA_USERS = "query { adminDashboard { mfaUsers } }"


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, public_url=PUBLIC_URL)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client


class TestRegistration:
    async def test_creation_options_are_the_json_a_browser_parses(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await register(client)

        options = json.loads(await begin_registration(client, account["accessToken"]))

        assert options["rp"] == {"id": "auth.example.com", "name": "gql-auth"}
        assert options["user"]["name"] == account["user"]["username"]
        assert len(unb64url(options["user"]["id"])) >= 16  # random, no user id or e-mail
        assert len(unb64url(options["challenge"])) >= 32
        assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
        assert options["authenticatorSelection"]["residentKey"] == "required"
        assert options["authenticatorSelection"]["userVerification"] == "required"
        assert options["excludeCredentials"] == []
        assert options["timeout"] == 300_000

    async def test_a_registered_passkey_is_listed_on_the_dashboard_and_recorded(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, authenticator, passkey = await user_with_passkey(client)

        body = await gql(client, DASHBOARD_PASSKEYS, token=account["accessToken"])

        assert data_of(body, "userDashboard")["passkeys"] == [passkey]
        assert passkey["name"] == "laptop"
        assert passkey["lastUsedAt"] is None
        (row,) = database.rows("passkeys")
        assert row["credential_id"] == b64url(authenticator.only_credential_id)
        assert row["transports"] == "internal"
        assert "PASSKEY_ADDED" in event_kinds(database, account["user"]["id"])

    async def test_the_next_registration_excludes_passkeys_already_registered(
        self, client: httpx.AsyncClient
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        stepped_up = await passkey_session(client, account["user"]["username"], authenticator)

        options = json.loads(await begin_registration(client, stepped_up["accessToken"]))

        excluded = [unb64url(item["id"]) for item in options["excludeCredentials"]]
        assert excluded == [authenticator.only_credential_id]

    async def test_a_wrong_current_password_gives_no_options_and_counts_as_failed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account = await register(client)

        body = await gql(
            client, BEGIN_REGISTRATION, {"password": "not-it"}, token=account["accessToken"]
        )

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert database.count("passkey_challenges") == 0
        assert event_kinds(database, account["user"]["id"])[-1] == "LOGIN_FAILED"

    async def test_anonymous_callers_cannot_begin_a_registration(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, BEGIN_REGISTRATION, {"password": STRONG_PASSWORD})

        assert_error(body, "UNAUTHENTICATED")

    async def test_a_registration_challenge_is_used_once(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account = await register(client)
        token = account["accessToken"]
        options = await begin_registration(client, token)
        authenticator = SoftAuthenticator(origin=ORIGIN)
        data_of(
            await finish_registration(client, token, authenticator.create(options)),
            "finishPasskeyRegistration",
        )

        again = await finish_registration(client, token, authenticator.create(options))

        assert_error(again, "BAD_USER_INPUT", field="credential", reason="INVALID")
        assert database.count("passkeys") == 1

    async def test_another_users_challenge_cannot_be_answered(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        alice, bob = await register(client), await register(client)
        options = await begin_registration(client, alice["accessToken"])

        body = await finish_registration(
            client, bob["accessToken"], SoftAuthenticator(origin=ORIGIN).create(options)
        )

        assert_error(body, "BAD_USER_INPUT", field="credential", reason="INVALID")
        assert database.count("passkeys") == 0

    @pytest.mark.parametrize(
        "bend",
        [
            {"origin": "https://evil.example"},
            {"rp_id": "example.com"},
            {"flags": USER_PRESENT},  # no user verification
        ],
        ids=["wrong-origin", "wrong-rp-id", "not-user-verified"],
    )
    async def test_a_credential_made_for_another_party_or_unverified_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, bend: dict[str, Any]
    ) -> None:
        account = await register(client)
        token = account["accessToken"]
        options = await begin_registration(client, token)

        body = await finish_registration(
            client, token, SoftAuthenticator(origin=ORIGIN).create(options, **bend)
        )

        assert_error(body, "BAD_USER_INPUT", field="credential", reason="INVALID")
        assert database.count("passkeys") == 0
        assert database.count("passkey_challenges") == 0  # used up all the same

    @pytest.mark.parametrize("credential", ["", "{}", "[1]", "not json", '{"id": 1}', "x" * 20000])
    async def test_malformed_credentials_are_bad_input_without_leaks(
        self, client: httpx.AsyncClient, credential: str
    ) -> None:
        account = await register(client)
        token = account["accessToken"]
        await begin_registration(client, token)

        response = await post_graphql(
            client,
            FINISH_REGISTRATION,
            {"input": {"credential": credential}},
            token=token,
        )

        assert_no_leak(response, sent=credential)
        assert_error(response.json(), "BAD_USER_INPUT", field="credential", reason="INVALID")

    @pytest.mark.parametrize("opener", ["[", '{"a":'], ids=["arrays", "objects"])
    async def test_a_credential_nested_as_deep_as_its_size_allows_is_bad_input_not_a_500(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, opener: str
    ) -> None:
        account = await register(client)
        token = account["accessToken"]
        await begin_registration(client, token)
        credential = opener * (CREDENTIAL_JSON_MAX // len(opener))

        body = await finish_registration(client, token, credential)

        assert_error(body, "BAD_USER_INPUT", field="credential", reason="INVALID")
        assert "Traceback" not in caplog.text

    async def test_a_name_over_64_characters_is_refused_before_the_challenge_is_used(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await register(client)
        token = account["accessToken"]
        options = await begin_registration(client, token)
        authenticator = SoftAuthenticator(origin=ORIGIN)

        long_name = await finish_registration(
            client, token, authenticator.create(options), "n" * 65
        )
        fine = await finish_registration(client, token, authenticator.create(options), None)

        assert_error(long_name, "BAD_USER_INPUT", field="name", reason="TOO_LONG")
        assert data_of(fine, "finishPasskeyRegistration")["name"] is None


class TestDeletion:
    async def test_deleting_needs_the_current_password(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, _, passkey = await user_with_passkey(client)

        body = await gql(
            client, DELETE, {"id": passkey["id"], "password": "wrong"}, token=account["accessToken"]
        )

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert database.count("passkeys") == 1

    async def test_another_users_passkey_is_not_found_and_stays(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        _, _, alices = await user_with_passkey(client)
        mallory = await register(client)

        body = await gql(
            client,
            DELETE,
            {"id": alices["id"], "password": STRONG_PASSWORD},
            token=mallory["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", field="id", reason="NOT_FOUND")
        assert database.count("passkeys") == 1


class TestPasskeysAsAFactor:
    """A passkey is a factor of its own: amr hwk+user, counted and removed with the others."""

    async def test_a_passkey_session_carries_hwk_and_user_through_a_refresh(
        self, client: httpx.AsyncClient
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)

        payload = data_of(
            await sign_in(client, account["user"]["username"], authenticator), "finishPasskeyLogin"
        )
        refreshed = data_of(await refresh(client, payload["refreshToken"]), "refreshToken")

        assert claims_of(payload["accessToken"])["amr"] == ["hwk", "user"]
        assert claims_of(refreshed["accessToken"])["amr"] == ["hwk", "user"]

    async def test_admin_fields_take_a_passkey_session_when_mfa_is_required(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, public_url=PUBLIC_URL, admin_requires_mfa=True)
        async with running_app(settings) as client:
            admin = await register_admin(client, database)
            authenticator = SoftAuthenticator(origin=ORIGIN)
            await add_passkey(client, admin["accessToken"], authenticator)
            with_password_only = await gql(client, MFA_USERS, token=admin["accessToken"])
            payload = data_of(
                await sign_in(client, admin["user"]["username"], authenticator),
                "finishPasskeyLogin",
            )

            with_passkey = await gql(client, MFA_USERS, token=payload["accessToken"])

        assert_error(with_password_only, "FORBIDDEN", reason="MFA_REQUIRED")
        assert data_of(with_passkey, "adminDashboard")["mfaUsers"] == 1

    async def test_reset_mfa_removes_passkeys_too(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        username = account["user"]["username"]

        result = call_cli("reset-mfa", username, cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr
        assert "1 passkey(s)" in result.stdout
        assert database.count("passkeys") == 0
        assert event_kinds(database, account["user"]["id"])[-1] == "MFA_DISABLED"
        refused(await sign_in(client, None, authenticator))  # the key itself, unlisted
