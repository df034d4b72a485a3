"""TOTP enrolment and management: enrollTotp, disableTotp, regenerateRecoveryCodes, what the
dashboards show, and what is stored (encrypted secrets, hashed codes). Confirmation,
also twice at once, is in tests/db/test_totp.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pyotp

from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    register,
    register_admin,
)
from tests.support.mfa import (
    CONFIRM,
    DISABLE,
    ENROLL,
    FACTORS,
    REGENERATE,
    code_at,
    enroll,
    mfa_token,
    sign_in_with_totp,
    user_with_totp,
    verify,
)


def second_factor_input(code: str, password: str = STRONG_PASSWORD) -> dict[str, object]:
    return {"input": {"currentPassword": password, "code": code}}


class TestEnrollTotp:
    async def test_enrolment_returns_a_secret_its_uri_and_an_svg_qr_code(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client, "Enrolling")

        enrollment = data_of(await enroll(client, payload["accessToken"]), "enrollTotp")

        uri = urlparse(enrollment["otpauthUri"])
        assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
        assert parse_qs(uri.query)["secret"] == [enrollment["secret"]]
        assert "Enrolling" in uri.path
        parsed = pyotp.parse_uri(enrollment["otpauthUri"])
        assert isinstance(parsed, pyotp.TOTP)
        assert parsed.now() == pyotp.TOTP(enrollment["secret"]).now()
        assert enrollment["qrCodeSvg"].startswith("<svg") and "</svg>" in enrollment["qrCodeSvg"]
        # Nothing is on yet; the waiting secret is stored encrypted.
        factors = data_of(await gql(client, FACTORS, token=payload["accessToken"]), "userDashboard")
        assert (factors["totpEnabled"], factors["recoveryCodesLeft"]) == (False, 0)
        (row,) = database.rows("totp_credentials")
        assert row["secret"] is None and row["enabled_at"] is None
        assert enrollment["secret"] not in row["pending_secret"]
        assert row["pending_secret"].startswith("v1:")

    async def test_a_wrong_current_password_is_refused_and_counts_as_a_failed_sign_in(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)

        body = await enroll(client, payload["accessToken"], "not-the-password")

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert database.count("totp_credentials") == 0
        assert event_kinds(database, payload["user"]["id"])[-1] == "LOGIN_FAILED"

    async def test_anonymous_callers_are_unauthenticated(self, client: httpx.AsyncClient) -> None:
        body = await gql(client, ENROLL, {"password": STRONG_PASSWORD})

        assert_error(body, "UNAUTHENTICATED")

    async def test_enrolling_again_replaces_the_waiting_secret(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)
        first = data_of(await enroll(client, payload["accessToken"]), "enrollTotp")
        second = data_of(await enroll(client, payload["accessToken"]), "enrollTotp")

        stale = await gql(
            client, CONFIRM, {"code": code_at(first["secret"])}, token=payload["accessToken"]
        )
        fresh = await gql(
            client, CONFIRM, {"code": code_at(second["secret"])}, token=payload["accessToken"]
        )

        assert_error(stale, "BAD_USER_INPUT", field="code", reason="INVALID")
        assert len(data_of(fresh, "confirmTotp")) == 10

    async def test_enrolling_while_totp_is_on_is_refused(self, client: httpx.AsyncClient) -> None:
        payload, secret, _ = await user_with_totp(client)
        stepped_up = await sign_in_with_totp(client, payload["user"]["username"], secret)

        body = await enroll(client, stepped_up["accessToken"])

        assert_error(body, "BAD_USER_INPUT", reason="ALREADY_ENABLED")


class TestDisableTotp:
    async def test_the_password_and_a_current_code_turn_it_off(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)

        body = await gql(
            client, DISABLE, second_factor_input(code_at(secret, 1)), token=payload["accessToken"]
        )

        assert data_of(body, "disableTotp") is True
        assert database.count("totp_credentials") == 0
        assert database.count("recovery_codes") == 0
        assert event_kinds(database, payload["user"]["id"])[-1] == "MFA_DISABLED"

    async def test_a_recovery_code_also_does(self, client: httpx.AsyncClient) -> None:
        payload, _, codes = await user_with_totp(client)

        body = await gql(
            client, DISABLE, second_factor_input(codes[5]), token=payload["accessToken"]
        )

        assert data_of(body, "disableTotp") is True

    async def test_a_wrong_code_or_password_leaves_it_on(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload, secret, _ = await user_with_totp(client)
        token = payload["accessToken"]

        wrong_code = await gql(client, DISABLE, second_factor_input("000000"), token=token)
        wrong_password = await gql(
            client, DISABLE, second_factor_input(code_at(secret, 1), "not-it"), token=token
        )
        stolen_token_alone = await gql(
            client, DISABLE, second_factor_input(code_at(secret, 0), "guess"), token=token
        )

        for body in (wrong_code, wrong_password, stolen_token_alone):
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert database.rows("totp_credentials")[0]["enabled_at"] is not None
        kinds = event_kinds(database, payload["user"]["id"])
        assert kinds.count("LOGIN_FAILED") == 2
        assert kinds.count("MFA_FAILED") == (0 if code_at(secret, 1) == "000000" else 1)

    async def test_when_totp_is_off_it_says_so(self, client: httpx.AsyncClient) -> None:
        payload = await register(client)

        body = await gql(
            client, DISABLE, second_factor_input("123456"), token=payload["accessToken"]
        )

        assert_error(body, "BAD_USER_INPUT", reason="NOT_ENABLED")


class TestRegenerateRecoveryCodes:
    async def test_new_codes_replace_the_old_ones(self, client: httpx.AsyncClient) -> None:
        payload, secret, old = await user_with_totp(client)

        body = await gql(
            client,
            REGENERATE,
            second_factor_input(code_at(secret, 1)),
            token=payload["accessToken"],
        )

        new = data_of(body, "regenerateRecoveryCodes")
        assert len(new) == 10 and not set(new) & set(old)
        name = payload["user"]["username"]
        stale = await verify(client, await mfa_token(client, name), old[0])
        assert_error(stale, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert data_of(await verify(client, await mfa_token(client, name), new[0]), "verifyMfa")

    async def test_codes_left_count_down_as_they_are_used(self, client: httpx.AsyncClient) -> None:
        payload, _, codes = await user_with_totp(client)
        name = payload["user"]["username"]
        for code in codes[:3]:
            data_of(await verify(client, await mfa_token(client, name), code), "verifyMfa")

        factors = data_of(await gql(client, FACTORS, token=payload["accessToken"]), "userDashboard")

        assert factors["recoveryCodesLeft"] == 7
        assert [event["kind"] for event in factors["recentEvents"]].count("RECOVERY_CODE_USED") == 3


async def test_the_admin_dashboard_counts_accounts_with_a_second_factor(
    client: httpx.AsyncClient, database: SqlDatabase
) -> None:
    await user_with_totp(client)
    await user_with_totp(client)
    waiting = await register(client)
    await enroll(client, waiting["accessToken"])  # enrolled, never confirmed: does not count
    admin = await register_admin(client, database)

    body = await gql(client, "query { adminDashboard { mfaUsers } }", token=admin["accessToken"])

    assert data_of(body, "adminDashboard")["mfaUsers"] == 2
