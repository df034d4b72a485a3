"""confirmTotp on every backend: ten recovery codes shown once, and two confirmations at once
turn TOTP on once."""

from __future__ import annotations

import asyncio

import httpx
import pyotp

from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    register,
)
from tests.support.mfa import (
    CONFIRM,
    FACTORS,
    code_at,
    enable_totp,
    enroll,
)


class TestConfirmTotp:
    async def test_a_current_code_turns_totp_on_with_ten_codes_shown_once(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)

        secret, codes = await enable_totp(client, payload["accessToken"])

        assert len(codes) == len(set(codes)) == 10
        assert all(len(code.replace("-", "")) == 16 for code in codes)
        factors = data_of(await gql(client, FACTORS, token=payload["accessToken"]), "userDashboard")
        assert (factors["totpEnabled"], factors["recoveryCodesLeft"]) == (True, 10)
        assert factors["recentEvents"][0]["kind"] == "MFA_ENABLED"
        stored = str(database.rows("recovery_codes")) + str(database.rows("totp_credentials"))
        assert secret not in stored
        assert not any(code.replace("-", "").upper() in stored.upper() for code in codes)

    async def test_a_wrong_code_changes_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        secret = data_of(await enroll(client, payload["accessToken"]), "enrollTotp")["secret"]
        wrong = pyotp.TOTP(pyotp.random_base32()).now()
        if wrong == code_at(secret):
            wrong = "abcdef"

        body = await gql(client, CONFIRM, {"code": wrong}, token=payload["accessToken"])

        assert_error(body, "BAD_USER_INPUT", field="code", reason="INVALID")
        assert database.rows("totp_credentials")[0]["enabled_at"] is None
        assert database.count("recovery_codes") == 0

    async def test_without_an_enrolment_there_is_nothing_to_confirm(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)

        body = await gql(client, CONFIRM, {"code": "123456"}, token=payload["accessToken"])

        assert_error(body, "BAD_USER_INPUT", field="code", reason="NOT_FOUND")

    async def test_two_confirmations_at_once_turn_it_on_once(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        secret = data_of(await enroll(client, payload["accessToken"]), "enrollTotp")["secret"]

        bodies = await asyncio.gather(
            *(
                gql(client, CONFIRM, {"code": code_at(secret)}, token=payload["accessToken"])
                for _ in range(2)
            )
        )

        assert sum(1 for body in bodies if not body.get("errors")) == 1
        assert database.count("recovery_codes") == 10
        assert event_kinds(database, payload["user"]["id"]).count("MFA_ENABLED") == 1
