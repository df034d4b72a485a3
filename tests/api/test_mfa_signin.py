"""Sign-in with a second factor: MFA_REQUIRED -> verifyMfa, with real TOTP codes from pyotp,
the admin's MFA requirement, the reset-mfa command and access tokens' amr. What is tried
twice at once (asyncio.gather) and expiry are in tests/db/test_mfa_signin.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import assert_one_line_failure, call_cli
from tests.support.helpers import (
    ADMIN_DASHBOARD,
    CHANGE_PASSWORD,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    claims_of,
    data_of,
    event_kinds,
    gql,
    login,
    make_settings,
    refresh,
    register,
    register_admin,
    running_app,
    unique_username,
)
from tests.support.metrics import sample
from tests.support.mfa import (
    DISABLE,
    code_at,
    enable_totp,
    login_body,
    mfa_token,
    user_with_totp,
    verify,
)

MFA_USERS = "query { adminDashboard { mfaUsers } }"


class TestLoginAsksForTheSecondFactor:
    async def test_a_right_password_answers_mfa_required_with_a_token_and_the_methods(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, _, _ = await user_with_totp(client)

        body = await login_body(client, payload["user"]["username"])

        error = assert_error(body, "UNAUTHENTICATED", reason="MFA_REQUIRED")
        assert body["data"] is None
        assert error["extensions"]["mfaMethods"] == ["TOTP", "RECOVERY_CODE"]
        token = error["extensions"]["mfaToken"]
        assert isinstance(token, str) and len(token) >= 40
        # Kept only as a hash; no sign-in counted, no session opened yet.
        assert token not in str(database.rows("mfa_challenges"))
        assert "LOGIN_SUCCEEDED" not in event_kinds(database, payload["user"]["id"])[1:]
        assert database.count("sessions") == 1  # the one register opened

    async def test_a_wrong_password_answers_as_for_an_account_without_totp(
        self, client: httpx.AsyncClient
    ) -> None:
        with_totp, _, _ = await user_with_totp(client)
        without = await register(client)

        answers = [
            await login_body(client, payload["user"]["username"], "not-the-password")
            for payload in (with_totp, without)
        ]

        for body in answers:
            error = assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
            assert set(error["extensions"]) == {"code", "reason"}
        assert answers[0]["errors"][0]["message"] == answers[1]["errors"][0]["message"]

    async def test_an_account_without_totp_signs_in_with_the_password_alone(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)

        signed_in = await login(client, payload["user"]["username"])

        assert claims_of(signed_in["accessToken"])["amr"] == ["pwd"]


class TestVerifyMfa:
    async def test_a_current_code_signs_in_with_amr_pwd_otp(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])

        body = await verify(client, token, code_at(secret, 1))

        signed_in = data_of(body, "verifyMfa")
        assert signed_in["user"]["email"] == payload["user"]["email"]
        assert claims_of(signed_in["accessToken"])["amr"] == ["pwd", "otp"]
        me = await gql(client, ME, token=signed_in["accessToken"])
        assert data_of(me, "me")["id"] == payload["user"]["id"]
        assert event_kinds(database, payload["user"]["id"])[-1] == "LOGIN_SUCCEEDED"

    async def test_refresh_keeps_the_amr_of_the_sign_in(self, client: httpx.AsyncClient) -> None:
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        signed_in = data_of(await verify(client, token, code_at(secret, 1)), "verifyMfa")

        rotated = data_of(await refresh(client, signed_in["refreshToken"]), "refreshToken")

        assert claims_of(rotated["accessToken"])["amr"] == ["pwd", "otp"]

    async def test_a_password_change_keeps_the_second_factor_of_the_session(
        self, client: httpx.AsyncClient
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        signed_in = data_of(await verify(client, token, code_at(secret, 1)), "verifyMfa")

        changed = await gql(
            client,
            CHANGE_PASSWORD,
            {"input": {"currentPassword": STRONG_PASSWORD, "newPassword": "Pelican-Quarry-77-x"}},
            token=signed_in["accessToken"],
        )

        assert claims_of(data_of(changed, "changePassword")["accessToken"])["amr"] == [
            "pwd",
            "otp",
        ]

    async def test_a_wrong_code_an_unknown_token_and_a_used_token_answer_alike(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        wrong_digit = str((int(code_at(secret, 1)[0]) + 1) % 10) + code_at(secret, 1)[1:]

        wrong_code = await verify(client, token, wrong_digit)
        unknown = await verify(client, "x" * 43, code_at(secret, 1))
        used_up = data_of(await verify(client, token, code_at(secret, 1)), "verifyMfa")
        reused = await verify(client, token, code_at(secret, 1))

        assert used_up["accessToken"]
        errors = [only for body in (wrong_code, unknown, reused) for only in body["errors"]]
        assert {
            (e["message"], e["extensions"]["code"], e["extensions"]["reason"]) for e in errors
        } == {("The code is invalid.", "UNAUTHENTICATED", "INVALID_CREDENTIALS")}
        assert event_kinds(database, payload["user"]["id"]).count("MFA_FAILED") == 1

    async def test_a_token_issued_under_an_old_password_is_void(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        other = await register(client)  # another valid argon2 hash, as a reset would write
        database.update_user(
            payload["user"]["id"],
            password_hash=database.user_row(other["user"]["username"])["password_hash"],
        )

        body = await verify(client, token, code_at(secret, 1))

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_a_deactivated_account_cannot_finish_signing_in(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        database.update_user(payload["user"]["id"], is_active=False)

        body = await verify(client, token, code_at(secret, 1))

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_two_verify_mfa_in_one_document_are_refused_before_anything_runs(
        self, client: httpx.AsyncClient
    ) -> None:
        document = """mutation {
          a: verifyMfa(input: {mfaToken: "t", code: "123456"}) { accessToken }
          b: verifyMfa(input: {mfaToken: "t", code: "654321"}) { accessToken }
        }"""

        body = await gql(client, document)

        assert_error(body, "GRAPHQL_VALIDATION_FAILED", reason="ONE_CREDENTIAL_CHECK")


class TestAdminRequiresMfa:
    @pytest.fixture
    async def strict(self, database: SqlDatabase) -> Any:
        async with running_app(make_settings(database.url, admin_requires_mfa=True)) as client:
            yield client

    async def test_a_password_only_admin_session_is_refused_admin_fields(
        self, strict: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(strict, database)
        other = await register(strict)

        dashboard = await gql(strict, ADMIN_DASHBOARD, token=admin["accessToken"])
        email = await gql(
            strict,
            "query($id: ID!) { user(id: $id) { email } }",
            {"id": other["user"]["id"]},
            token=admin["accessToken"],
        )
        own = await gql(strict, ME, token=admin["accessToken"])

        assert_error(dashboard, "FORBIDDEN", reason="MFA_REQUIRED")
        assert_error(email, "FORBIDDEN", reason="MFA_REQUIRED", path=["user", "email"])
        assert data_of(own, "me")["email"] == admin["user"]["email"]  # self needs no admin

    async def test_an_admin_signed_in_with_totp_may(
        self, strict: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(strict, database)
        secret, _ = await enable_totp(strict, admin["accessToken"])
        token = await mfa_token(strict, admin["user"]["username"])
        signed_in = data_of(await verify(strict, token, code_at(secret, 1)), "verifyMfa")

        body = await gql(strict, MFA_USERS, token=signed_in["accessToken"])

        assert data_of(body, "adminDashboard")["mfaUsers"] == 1

    async def test_a_passkey_session_counts_as_multi_factor(
        self, strict: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(strict, database)
        # What a passkey sign-in records on its session (amr ["hwk", "user"]).
        database.update_session(claims_of(admin["accessToken"])["sid"], amr="hwk user")

        body = await gql(strict, ADMIN_DASHBOARD, token=admin["accessToken"])

        assert data_of(body, "adminDashboard")["totalUsers"] == 1

    async def test_off_by_default(self, client: httpx.AsyncClient, database: SqlDatabase) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, ADMIN_DASHBOARD, token=admin["accessToken"])

        assert data_of(body, "adminDashboard")["totalUsers"] == 1


class TestResetMfaCommand:
    async def test_reset_mfa_removes_totp_and_codes_and_records_it(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        payload, _, _ = await user_with_totp(client, unique_username("lost"))
        name = payload["user"]["username"]

        result = call_cli(
            "reset-mfa", name.upper(), cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode == 0, result.stderr
        assert "TOTP, 10 recovery code(s)" in result.stdout
        assert database.count("totp_credentials") == 0
        assert database.count("recovery_codes") == 0
        assert event_kinds(database, payload["user"]["id"])[-1] == "MFA_DISABLED"
        assert claims_of((await login(client, name))["accessToken"])["amr"] == ["pwd"]

    async def test_reset_mfa_of_a_user_without_one_changes_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        payload = await register(client)

        result = call_cli(
            "reset-mfa", payload["user"]["email"], cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode == 0, result.stderr
        assert "nothing changed" in result.stdout
        assert "MFA_DISABLED" not in event_kinds(database, payload["user"]["id"])

    def test_reset_mfa_of_nobody_fails_in_one_line(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = call_cli("reset-mfa", "nobody", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert "nobody" in assert_one_line_failure(result)


async def test_disabling_totp_returns_login_to_the_password_alone(
    client: httpx.AsyncClient, database: SqlDatabase
) -> None:
    payload, secret, _ = await user_with_totp(client)

    body = await gql(
        client,
        DISABLE,
        {"input": {"currentPassword": STRONG_PASSWORD, "code": code_at(secret, 1)}},
        token=payload["accessToken"],
    )

    assert data_of(body, "disableTotp") is True
    assert claims_of((await login(client, payload["user"]["username"]))["accessToken"])["amr"] == [
        "pwd"
    ]


async def test_metrics_count_a_wrong_code_as_a_failed_sign_in_but_not_mfa_required(
    database: SqlDatabase,
) -> None:
    async with running_app(make_settings(database.url, metrics_enabled=True)) as client:
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        await verify(client, token, "000000" if code_at(secret, 1) != "000000" else "111111")

        metrics = (await client.get("/metrics")).text

    assert sample(metrics, "gql_auth_sign_in_failures_total") == 1
    assert (
        sample(metrics, "gql_auth_requests_total", operation="login", outcome="UNAUTHENTICATED")
        == 1
    )
