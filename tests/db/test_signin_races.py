"""Sign-ins in flight never outlive what ends them: a password change, a reset, a deactivation.

A sign-in checks its password (or passkey) before it takes the user's row lock,
since hashing must not hold one; the change it races may commit in between.
Each test fires sign-ins staggered across the change (asyncio.gather against the
app, on SQLite and MariaDB) and then asks every session a sign-in got whether it
is still alive: none may be, whichever request won each race.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from gql_auth.settings import Settings
from tests.support.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    ME,
    REFRESH,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    make_settings,
    register,
    register_admin,
)
from tests.support.mailbox import MailApp, running_mail_app
from tests.support.mfa import code_at, mfa_token, user_with_totp, verify
from tests.support.passkeys import (
    PUBLIC_URL,
    begin_login,
    finish_login,
    passkey_session,
    sign_in,
    user_with_passkey,
)

NEW_PASSWORD = "Otter-Meadow-Compass-77"
RACERS = 12
# How long the other writer holds the user's row: far longer than any check takes here.
HOLD_SECONDS = 1.0
ENROLL = "mutation E($p: String!) { enrollTotp(currentPassword: $p) { secret } }"
SET_ACTIVE = """
mutation A($userId: ID!, $active: Boolean!) { setUserActive(userId: $userId, active: $active) {
  id } }"""
RESET = "mutation R($input: ResetPasswordInput!) { resetPassword(input: $input) }"
REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    # Hashing that takes a few milliseconds (still far below the defaults) gives the
    # races a window, as a production server's argon2 does; the limits stay out of the
    # way of a dozen sign-ins, right or (once the password changed) wrong.
    return make_settings(
        database.url,
        argon2_memory_cost=8192,
        argon2_time_cost=2,
        rate_limit_signin_account_client="1000/15minutes",
        rate_limit_login_account_client="1000/15minutes",
        public_url=PUBLIC_URL,  # whom the test passkeys are for
    )


@pytest.fixture
async def app(settings: Settings, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


@pytest.fixture
def client(app: MailApp) -> httpx.AsyncClient:
    return app.client


async def _after(delay: float, request: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    await asyncio.sleep(delay)
    return await request


def _staggered(requests: Sequence[Awaitable[dict[str, Any]]]) -> list[Awaitable[dict[str, Any]]]:
    """Spread over ~50 ms, so some check their password before the change and finish after."""
    return [_after(index * 0.004, request) for index, request in enumerate(requests)]


async def _is_alive(client: httpx.AsyncClient, payload: dict[str, Any]) -> bool:
    """Whether the session behind an AuthPayload still answers, by its access or refresh token."""
    me = await gql(client, ME, token=payload["accessToken"])
    rotated = await gql(client, REFRESH, {"token": payload["refreshToken"]})
    return not me.get("errors") or not rotated.get("errors")


async def _sessions_left_alive(
    client: httpx.AsyncClient, bodies: list[dict[str, Any]], field: str
) -> int:
    alive = 0
    for body in bodies:
        if body.get("errors"):
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        elif await _is_alive(client, body["data"][field]):
            alive += 1
    return alive


def _logins(client: httpx.AsyncClient, username: str) -> list[Awaitable[dict[str, Any]]]:
    variables = {"input": {"username": username, "password": STRONG_PASSWORD}}
    return [gql(client, LOGIN, variables) for _ in range(RACERS)]


def _change_password(client: httpx.AsyncClient, token: str) -> Awaitable[dict[str, Any]]:
    variables = {"input": {"currentPassword": STRONG_PASSWORD, "newPassword": NEW_PASSWORD}}
    return gql(client, CHANGE_PASSWORD, variables, token=token)


class TestPasswordSignInsInFlight:
    async def test_none_outlives_a_password_change(self, client: httpx.AsyncClient) -> None:
        owner = await register(client)
        change = _change_password(client, owner["accessToken"])

        *bodies, changed = await asyncio.gather(
            *_staggered(_logins(client, owner["user"]["username"])), _after(0.02, change)
        )

        data_of(changed, "changePassword")
        assert await _sessions_left_alive(client, bodies, "login") == 0
        assert_error(
            await gql(
                client,
                LOGIN,
                {"input": {"username": owner["user"]["username"], "password": STRONG_PASSWORD}},
            ),
            "UNAUTHENTICATED",
        )

    async def test_none_outlives_a_password_reset(self, app: MailApp) -> None:
        owner = await register(app.client)
        email = owner["user"]["email"]
        data_of(await gql(app.client, REQUEST_RESET, {"email": email}), "requestPasswordReset")
        token = await app.mailbox.token(email, "Reset your password")
        reset = gql(app.client, RESET, {"input": {"token": token, "newPassword": NEW_PASSWORD}})

        *bodies, done = await asyncio.gather(
            *_staggered(_logins(app.client, owner["user"]["username"])), _after(0.02, reset)
        )

        assert data_of(done, "resetPassword") is True
        assert await _sessions_left_alive(app.client, bodies, "login") == 0

    async def test_none_outlives_a_deactivation(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        owner = await register(client)
        deactivate = gql(
            client,
            SET_ACTIVE,
            {"userId": owner["user"]["id"], "active": False},
            token=admin["accessToken"],
        )

        *bodies, done = await asyncio.gather(
            *_staggered(_logins(client, owner["user"]["username"])), _after(0.02, deactivate)
        )

        data_of(done, "setUserActive")
        assert await _sessions_left_alive(client, bodies, "login") == 0

    async def test_a_second_step_in_flight_does_not_outlive_a_password_change(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, secret, codes = await user_with_totp(client)
        username = owner["user"]["username"]
        tokens = [await mfa_token(client, username) for _ in range(4)]
        # Each verifyMfa needs a code of its own: a TOTP code and recovery codes.
        second_steps = [
            verify(client, token, code)
            for token, code in zip(tokens, [code_at(secret, 1), *codes[:3]], strict=True)
        ]
        change = _change_password(client, owner["accessToken"])

        *bodies, changed = await asyncio.gather(*_staggered(second_steps), _after(0.006, change))

        data_of(changed, "changePassword")
        assert await _sessions_left_alive(client, bodies, "verifyMfa") == 0


class TestPasskeySignInsInFlight:
    async def test_none_outlives_a_deactivation(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        owner, authenticator, _ = await user_with_passkey(client)
        username = owner["user"]["username"]
        await passkey_session(client, username, authenticator)  # the key works before
        deactivate = gql(
            client,
            SET_ACTIVE,
            {"userId": owner["user"]["id"], "active": False},
            token=admin["accessToken"],
        )

        *bodies, done = await asyncio.gather(
            *_staggered([sign_in(client, username, authenticator) for _ in range(RACERS)]),
            _after(0.02, deactivate),
        )

        data_of(done, "setUserActive")
        assert await _sessions_left_alive(client, bodies, "finishPasskeyLogin") == 0


async def _committed_while_they_wait(
    database: SqlDatabase, user_id: str, values: dict[str, Any], requests: Sequence[Awaitable[Any]]
) -> list[dict[str, Any]]:
    """Another writer (a worker elsewhere) changes the user's row and holds it while the
    requests check their credentials and queue for the row lock; it commits, then they go on.

    Deterministic where the gather races above depend on timing: every request here
    checked the row as it was before, and takes its lock only after the change.
    """
    holding = threading.Event()

    def change_and_hold() -> None:
        users = database.table("users")
        with database.engine.begin() as connection:
            connection.execute(users.update().where(users.c.id == int(user_id)).values(**values))
            holding.set()
            time.sleep(HOLD_SECONDS)

    writer = asyncio.ensure_future(asyncio.to_thread(change_and_hold))
    await asyncio.to_thread(holding.wait)
    bodies: list[dict[str, Any]] = await asyncio.gather(*requests)
    await writer
    return bodies


class TestChecksMadeBeforeTheLockAreMadeAgainUnderIt:
    async def test_a_password_changed_while_signing_in_refuses_the_sign_in(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        changed = {"password_hash": PasswordHasher().hash(NEW_PASSWORD)}

        bodies = await _committed_while_they_wait(
            database, owner["user"]["id"], changed, _logins(client, owner["user"]["username"])
        )

        for body in bodies:
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert "LOGIN_SUCCEEDED" not in event_kinds(database, owner["user"]["id"])

    async def test_an_account_deactivated_while_signing_in_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)

        bodies = await _committed_while_they_wait(
            database,
            owner["user"]["id"],
            {"is_active": False},
            _logins(client, owner["user"]["username"]),
        )

        for body in bodies:
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_an_account_deactivated_during_a_passkey_sign_in_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner, authenticator, _ = await user_with_passkey(client)
        username = owner["user"]["username"]
        challenges = [await begin_login(client, username) for _ in range(3)]
        finishes = [
            finish_login(client, challenge["challengeId"], authenticator.get(challenge["options"]))
            for challenge in challenges
        ]

        bodies = await _committed_while_they_wait(
            database, owner["user"]["id"], {"is_active": False}, finishes
        )

        for body in bodies:
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_a_re_authentication_with_a_password_changed_meanwhile_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        changed = {"password_hash": PasswordHasher().hash(NEW_PASSWORD)}
        enrolments = [
            gql(client, ENROLL, {"p": STRONG_PASSWORD}, token=owner["accessToken"])
            for _ in range(3)
        ]

        bodies = await _committed_while_they_wait(
            database, owner["user"]["id"], changed, enrolments
        )

        for body in bodies:
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert database.count("totp_credentials") == 0
