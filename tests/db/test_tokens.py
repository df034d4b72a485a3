"""Access tokens on every backend: a revoked, expired or deactivated session's token is refused,
and an accepted token is checked again once its time or its session is up."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.forgeries import FORGERIES, resign
from tests.support.helpers import (
    ME,
    SqlDatabase,
    assert_error,
    claims_of,
    data_of,
    gql,
    login,
    register,
)


class TestRevocation:
    async def test_a_token_of_a_revoked_session_is_token_revoked(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        database.update_session(claims_of(token)["sid"], revoked_at=datetime.now(UTC))

        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_token_of_an_expired_session_is_token_revoked(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        database.update_session(
            claims_of(token)["sid"], expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )

        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_token_of_a_deactivated_user_is_token_revoked(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        database.update_user(payload["user"]["id"], is_active=False)

        body = await gql(client, ME, token=payload["accessToken"])

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_revoking_one_session_leaves_the_others_working(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        first = await register(client, "multi")
        second = (await login(client, "multi"))["accessToken"]
        database.update_session(
            claims_of(first["accessToken"])["sid"], revoked_at=datetime.now(UTC)
        )

        assert data_of(await gql(client, ME, token=second), "me")["username"] == "multi"
        assert_error(
            await gql(client, ME, token=first["accessToken"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )

    async def test_a_well_signed_token_naming_an_unknown_session_is_token_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)

        token = resign(payload["accessToken"], sid="0" * 32)

        assert_error(await gql(client, ME, token=token), "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_token_whose_subject_does_not_own_its_session_is_token_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        victim = await register(client)
        attacker = await register(client)

        token = resign(attacker["accessToken"], sub=victim["user"]["id"])

        assert_error(await gql(client, ME, token=token), "UNAUTHENTICATED", reason="TOKEN_REVOKED")


class TestAcceptedTokensAreCheckedAgain:
    """A verified token is kept by its text; expiry and the session are still checked each time."""

    async def test_an_accepted_token_is_token_expired_once_its_time_is_up(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)
        expires = int(time.time()) + 1
        token = resign(payload["accessToken"], exp=expires)
        assert data_of(await gql(client, ME, token=token), "me")["id"] == payload["user"]["id"]

        while int(time.time()) <= expires:  # python-jose's rule: expired once now > exp
            await asyncio.sleep(0.1)
        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_EXPIRED")

    async def test_an_accepted_token_is_token_revoked_once_its_session_is(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        assert data_of(await gql(client, ME, token=token), "me")["id"] == payload["user"]["id"]

        database.update_session(claims_of(token)["sid"], revoked_at=datetime.now(UTC))
        body = await gql(client, ME, token=token)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_a_forgery_of_an_accepted_token_is_still_token_invalid(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)
        token = payload["accessToken"]
        assert data_of(await gql(client, ME, token=token), "me")["id"] == payload["user"]["id"]

        for forge in FORGERIES.values():
            body = await gql(client, ME, token=forge(token))
            assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")
