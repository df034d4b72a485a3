"""Helpers for second-factor tests: real TOTP codes from pyotp on the real clock."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp

from tests.support.helpers import (
    AUTH_PAYLOAD_FIELDS,
    LOGIN,
    STRONG_PASSWORD,
    assert_error,
    data_of,
    gql,
    register,
)

ENROLL = """
mutation Enroll($password: String!) {
  enrollTotp(currentPassword: $password) { secret otpauthUri qrCodeSvg }
}"""
CONFIRM = "mutation Confirm($code: String!) { confirmTotp(code: $code) }"
VERIFY = f"""
mutation Verify($input: VerifyMfaInput!) {{
  verifyMfa(input: $input) {{ {AUTH_PAYLOAD_FIELDS} }}
}}"""
DISABLE = "mutation Disable($input: SecondFactorInput!) { disableTotp(input: $input) }"
REGENERATE = """
mutation Regenerate($input: SecondFactorInput!) { regenerateRecoveryCodes(input: $input) }"""
FACTORS = "query { userDashboard { totpEnabled recoveryCodesLeft recentEvents { kind } } }"
STEP = 30


def code_at(secret: str, steps_from_now: int = 0) -> str:
    """The code an authenticator shows now (or that many 30-second steps away)."""
    return pyotp.TOTP(secret).at(time.time() + STEP * steps_from_now)


async def enable_totp(client: httpx.AsyncClient, token: str) -> tuple[str, list[str]]:
    """Enrols and confirms with the current code; returns the secret and the recovery codes.

    The confirming code's step is used up, so the next sign-in takes code_at(secret, 1).
    """
    enrollment = data_of(
        await gql(client, ENROLL, {"password": STRONG_PASSWORD}, token=token), "enrollTotp"
    )
    secret = str(enrollment["secret"])
    codes = data_of(
        await gql(client, CONFIRM, {"code": code_at(secret)}, token=token), "confirmTotp"
    )
    return secret, [str(code) for code in codes]


async def user_with_totp(
    client: httpx.AsyncClient, username: str | None = None
) -> tuple[dict[str, Any], str, list[str]]:
    """A fresh account with TOTP on: its register payload, secret and recovery codes."""
    payload = await register(client, username)
    secret, codes = await enable_totp(client, payload["accessToken"])
    return payload, secret, codes


async def login_body(
    client: httpx.AsyncClient, username: str, password: str = STRONG_PASSWORD
) -> dict[str, Any]:
    return await gql(client, LOGIN, {"input": {"username": username, "password": password}})


async def mfa_token(client: httpx.AsyncClient, username: str) -> str:
    """Logs in with the right password and returns the mfaToken of the MFA_REQUIRED answer."""
    error = assert_error(
        await login_body(client, username), "UNAUTHENTICATED", reason="MFA_REQUIRED"
    )
    return str(error["extensions"]["mfaToken"])


async def verify(client: httpx.AsyncClient, token: str, code: str) -> dict[str, Any]:
    return await gql(client, VERIFY, {"input": {"mfaToken": token, "code": code}})


async def sign_in_with_totp(
    client: httpx.AsyncClient, username: str, secret: str, steps_from_now: int = 1
) -> dict[str, Any]:
    """Password, then a code: the AuthPayload of a session whose amr is pwd otp."""
    token = await mfa_token(client, username)
    payload: dict[str, Any] = data_of(
        await verify(client, token, code_at(secret, steps_from_now)), "verifyMfa"
    )
    return payload


async def enroll(
    client: httpx.AsyncClient, token: str, password: str = STRONG_PASSWORD
) -> dict[str, Any]:
    return await gql(client, ENROLL, {"password": password}, token=token)
