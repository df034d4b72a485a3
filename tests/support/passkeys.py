"""Passkey ceremonies over the app's GraphQL API, made by the software authenticator
(tests/support/authenticator.py)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.authenticator import SoftAuthenticator
from tests.support.helpers import (
    STRONG_PASSWORD,
    assert_error,
    data_of,
    gql,
    register,
)

PUBLIC_URL = "https://auth.example.com"
ORIGIN = PUBLIC_URL

BEGIN_REGISTRATION = """
mutation Begin($password: String!) { beginPasskeyRegistration(currentPassword: $password) }"""
FINISH_REGISTRATION = """
mutation Finish($input: FinishPasskeyRegistrationInput!) {
  finishPasskeyRegistration(input: $input) { id name createdAt lastUsedAt }
}"""
BEGIN_LOGIN = """
mutation BeginLogin($username: String) {
  beginPasskeyLogin(username: $username) { challengeId options }
}"""
FINISH_LOGIN = """
mutation FinishLogin($input: FinishPasskeyLoginInput!) {
  finishPasskeyLogin(input: $input) { accessToken refreshToken user { id username email } }
}"""
DELETE = """
mutation Delete($id: ID!, $password: String!) { deletePasskey(id: $id, currentPassword: $password) }
"""


async def begin_registration(client: httpx.AsyncClient, token: str) -> str:
    body = await gql(client, BEGIN_REGISTRATION, {"password": STRONG_PASSWORD}, token=token)
    options: str = data_of(body, "beginPasskeyRegistration")
    return options


async def finish_registration(
    client: httpx.AsyncClient, token: str, credential: str, name: str | None = "laptop"
) -> dict[str, Any]:
    return await gql(
        client,
        FINISH_REGISTRATION,
        {"input": {"credential": credential, "name": name}},
        token=token,
    )


async def add_passkey(
    client: httpx.AsyncClient, token: str, authenticator: SoftAuthenticator
) -> dict[str, Any]:
    options = await begin_registration(client, token)
    body = await finish_registration(client, token, authenticator.create(options))
    passkey: dict[str, Any] = data_of(body, "finishPasskeyRegistration")
    return passkey


async def begin_login(client: httpx.AsyncClient, username: str | None) -> dict[str, str]:
    body = await gql(client, BEGIN_LOGIN, {"username": username})
    challenge: dict[str, str] = data_of(body, "beginPasskeyLogin")
    return challenge


async def finish_login(
    client: httpx.AsyncClient, challenge_id: str, credential: str
) -> dict[str, Any]:
    variables = {"input": {"challengeId": challenge_id, "credential": credential}}
    return await gql(client, FINISH_LOGIN, variables)


async def user_with_passkey(
    client: httpx.AsyncClient,
) -> tuple[dict[str, Any], SoftAuthenticator, dict[str, Any]]:
    """A fresh account (its AuthPayload), its authenticator, and the passkey registered."""
    account = await register(client)
    authenticator = SoftAuthenticator(origin=ORIGIN)
    passkey = await add_passkey(client, account["accessToken"], authenticator)
    return account, authenticator, passkey


async def sign_in(
    client: httpx.AsyncClient, username: str | None, authenticator: SoftAuthenticator, **bend: Any
) -> dict[str, Any]:
    challenge = await begin_login(client, username)
    credential = authenticator.get(challenge["options"], **bend)
    return await finish_login(client, challenge["challengeId"], credential)


async def passkey_session(
    client: httpx.AsyncClient, username: str | None, authenticator: SoftAuthenticator
) -> dict[str, Any]:
    """The AuthPayload of a passkey sign-in (amr hwk user): what step-up asks for."""
    payload: dict[str, Any] = data_of(
        await sign_in(client, username, authenticator), "finishPasskeyLogin"
    )
    return payload


DASHBOARD_PASSKEYS = "query { userDashboard { passkeys { id name createdAt lastUsedAt } } }"


def refused(body: dict[str, Any]) -> None:
    assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
    assert body["data"] is None
