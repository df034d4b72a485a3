"""Sign-in with a second factor: MFA_REQUIRED -> verifyMfa, with real TOTP codes from pyotp.

Single-use things are tried twice at once (asyncio.gather against the app),
limits in parallel, and access tokens checked for their amr.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import (
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
from tests.mfa import (
    CONFIRM,
    DISABLE,
    ENROLL,
    code_at,
    enable_totp,
    login_body,
    mfa_token,
    user_with_totp,
    verify,
)
from tests.test_cli import assert_one_line_failure, run_cli
from tests.test_observability import sample

MFA_USERS = "query { adminDashboard { mfaUsers } }"


def outcomes(bodies: list[dict[str, Any]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for body in bodies:
        if not body.get("errors"):
            assert body["data"]["verifyMfa"]["accessToken"]
            counts["SIGNED_IN"] += 1
        else:
            extensions = body["errors"][0]["extensions"]
            counts[extensions.get("reason") or extensions["code"]] += 1
    return counts


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

    async def test_an_expired_token_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        challenges = database.table("mfa_challenges")
        with database.engine.begin() as connection:
            connection.execute(
                challenges.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )

        body = await verify(client, token, code_at(secret, 1))

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

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


class TestCodesAreAcceptedOnce:
    async def test_the_same_code_cannot_sign_in_twice(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        name = payload["user"]["username"]
        code = code_at(secret, 1)
        data_of(await verify(client, await mfa_token(client, name), code), "verifyMfa")

        replayed = await verify(client, await mfa_token(client, name), code)

        assert_error(replayed, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_the_confirming_code_cannot_sign_in(self, client: httpx.AsyncClient) -> None:
        payload = await register(client)
        enrollment = data_of(
            await gql(client, ENROLL, {"password": STRONG_PASSWORD}, token=payload["accessToken"]),
            "enrollTotp",
        )
        code = code_at(enrollment["secret"])
        await gql(client, CONFIRM, {"code": code}, token=payload["accessToken"])

        body = await verify(client, await mfa_token(client, payload["user"]["username"]), code)

        # Its step is the replay marker now: even a step later it is inside the drift
        # window, yet not newer than the marker.
        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_an_older_code_inside_the_window_fails_after_a_newer_one(
        self, client: httpx.AsyncClient
    ) -> None:
        """RFC 6238 5.2: once a step was accepted, no earlier step is."""
        payload, secret, _ = await user_with_totp(client)
        name = payload["user"]["username"]
        data_of(
            await verify(client, await mfa_token(client, name), code_at(secret, 1)), "verifyMfa"
        )

        older = await verify(client, await mfa_token(client, name), code_at(secret, 0))

        assert_error(older, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_one_code_sent_twice_at_once_signs_in_once(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        name = payload["user"]["username"]
        tokens = [await mfa_token(client, name) for _ in range(2)]
        code = code_at(secret, 1)

        bodies = await asyncio.gather(*(verify(client, token, code) for token in tokens))

        assert outcomes(list(bodies)) == {"SIGNED_IN": 1, "INVALID_CREDENTIALS": 1}
        assert event_kinds(database, payload["user"]["id"]).count("LOGIN_SUCCEEDED") == 1

    async def test_one_token_used_twice_at_once_opens_one_session(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, codes = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        sessions_before = database.count("sessions")

        # Two different right answers, so only the token's single use can stop one.
        bodies = await asyncio.gather(
            verify(client, token, code_at(secret, 1)), verify(client, token, codes[0])
        )

        assert outcomes(list(bodies)) == {"SIGNED_IN": 1, "INVALID_CREDENTIALS": 1}
        assert database.count("sessions") == sessions_before + 1


class TestRecoveryCodes:
    async def test_a_recovery_code_signs_in_once(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, _, codes = await user_with_totp(client)
        name = payload["user"]["username"]

        first = await verify(client, await mfa_token(client, name), codes[3].upper())
        again = await verify(client, await mfa_token(client, name), codes[3])

        assert claims_of(data_of(first, "verifyMfa")["accessToken"])["amr"] == ["pwd", "otp"]
        assert_error(again, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        kinds = event_kinds(database, payload["user"]["id"])
        assert kinds.count("RECOVERY_CODE_USED") == 1

    async def test_one_recovery_code_sent_twice_at_once_signs_in_once(
        self, client: httpx.AsyncClient
    ) -> None:
        payload, _, codes = await user_with_totp(client)
        name = payload["user"]["username"]
        tokens = [await mfa_token(client, name) for _ in range(2)]

        bodies = await asyncio.gather(*(verify(client, token, codes[0]) for token in tokens))

        assert outcomes(list(bodies)) == {"SIGNED_IN": 1, "INVALID_CREDENTIALS": 1}

    async def test_all_ten_codes_can_be_used_up_and_then_only_totp_is_offered(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_mfa="30/15minutes")
        async with running_app(settings) as client:
            payload, _, codes = await user_with_totp(client)
            name = payload["user"]["username"]

            for code in codes:
                data_of(await verify(client, await mfa_token(client, name), code), "verifyMfa")
            error = assert_error(
                await login_body(client, name), "UNAUTHENTICATED", reason="MFA_REQUIRED"
            )
            spent = await verify(client, error["extensions"]["mfaToken"], codes[0])

        assert len(set(codes)) == 10
        assert error["extensions"]["mfaMethods"] == ["TOTP"]
        assert_error(spent, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")


class TestWrongCodesAreLimited:
    async def test_parallel_wrong_codes_check_at_most_the_limit_then_even_a_right_one_waits(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        """RATE_LIMIT_MFA's default, 5/15minutes per account, reserved before each check."""
        payload, secret, _ = await user_with_totp(client)
        token = await mfa_token(client, payload["user"]["username"])
        right = code_at(secret, 1)
        wrong = "000000" if right != "000000" else "111111"

        bodies = await asyncio.gather(*(verify(client, token, wrong) for _ in range(9)))
        after = await verify(client, token, right)

        counts = outcomes(list(bodies))
        assert counts == {"INVALID_CREDENTIALS": 5, "RATE_LIMITED": 4}
        assert event_kinds(database, payload["user"]["id"]).count("MFA_FAILED") == 5
        error = assert_error(after, "RATE_LIMITED")
        assert 0 < error["extensions"]["retryAfter"] <= 15 * 60

    async def test_right_codes_give_their_reservation_back(self, database: SqlDatabase) -> None:
        settings = make_settings(database.url, rate_limit_mfa="2/15minutes")
        async with running_app(settings) as client:
            payload, _, codes = await user_with_totp(client)
            name = payload["user"]["username"]

            signed_in = [
                await verify(client, await mfa_token(client, name), code) for code in codes[:4]
            ]

        assert all(data_of(body, "verifyMfa")["accessToken"] for body in signed_in)


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

        result = run_cli(
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

        result = run_cli(
            "reset-mfa", payload["user"]["email"], cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode == 0, result.stderr
        assert "nothing changed" in result.stdout
        assert "MFA_DISABLED" not in event_kinds(database, payload["user"]["id"])

    def test_reset_mfa_of_nobody_fails_in_one_line(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = run_cli("reset-mfa", "nobody", cwd=tmp_path, env={"DATABASE_URL": database.url})

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
