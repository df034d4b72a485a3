"""Second-factor sign-ins on every backend: a code or recovery code used at once by two
requests opens one session, wrong codes in parallel stay under the limit, and an expired
mfaToken is refused."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    claims_of,
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
    login_body,
    mfa_token,
    user_with_totp,
    verify,
)


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


class TestVerifyMfa:
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
