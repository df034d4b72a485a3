"""Rate limits: failed sign-ins per account and per address, registrations per address, and
the counts shared through Redis (or kept in memory, or refused, when Redis is down)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
import redis

from gql_auth.config import Settings
from tests.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    REGISTER,
    SECRET_KEY,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    make_settings,
    register,
    register_input,
    running_app,
    running_app_with_peer,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"
WRONG = "not-the-password"


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    return await gql(client, LOGIN, {"input": {"username": username, "password": password}})


async def fail_sign_ins(client: httpx.AsyncClient, username: str, times: int) -> None:
    for _ in range(times):
        assert_error(
            await sign_in(client, username, WRONG), "UNAUTHENTICATED", reason="INVALID_CREDENTIALS"
        )


def assert_rate_limited(body: dict[str, Any], *, window_seconds: int = 15 * 60) -> None:
    error = assert_error(body, "RATE_LIMITED")
    retry_after = error["extensions"]["retryAfter"]
    assert isinstance(retry_after, int)
    assert 0 < retry_after <= window_seconds
    assert body["data"] is None


@pytest.fixture
async def limited(database: SqlDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """An app allowing 3 failed sign-ins per account, and plenty per address."""
    settings = make_settings(database.url, rate_limit_login_account="3/15minutes")
    async with running_app(settings) as client:
        yield client


class TestAccountLimit:
    async def test_the_eleventh_failed_login_is_refused_even_with_the_right_password(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        """The default, RATE_LIMIT_LOGIN_ACCOUNT=10/15minutes."""
        registered = await register(client, "tenth")
        await fail_sign_ins(client, "tenth", 10)

        body = await sign_in(client, "tenth", STRONG_PASSWORD)

        assert_rate_limited(body)
        assert event_kinds(database, registered["user"]["id"]).count("LOGIN_FAILED") == 10
        assert "LOGIN_SUCCEEDED" not in event_kinds(database, registered["user"]["id"])

    async def test_below_the_limit_the_right_password_still_works(
        self, limited: httpx.AsyncClient
    ) -> None:
        await register(limited, "almost")
        await fail_sign_ins(limited, "almost", 2)

        assert data_of(await sign_in(limited, "almost", STRONG_PASSWORD), "login")

    async def test_the_account_counts_however_the_name_is_cased_or_padded(
        self, limited: httpx.AsyncClient
    ) -> None:
        await register(limited, "Casey")
        for name in ("casey", "CASEY", "  Casey "):
            await fail_sign_ins(limited, name, 1)

        assert_rate_limited(await sign_in(limited, "Casey", STRONG_PASSWORD))

    async def test_failures_by_username_and_by_email_count_for_one_account(
        self, limited: httpx.AsyncClient
    ) -> None:
        await register(limited, "twonames", "twonames@example.com")
        await fail_sign_ins(limited, "twonames", 2)
        await fail_sign_ins(limited, "twonames@example.com", 1)

        assert_rate_limited(await sign_in(limited, "twonames", STRONG_PASSWORD))

    async def test_unknown_names_are_limited_like_real_ones(
        self, limited: httpx.AsyncClient
    ) -> None:
        await fail_sign_ins(limited, "nobody-at-all", 3)

        assert_rate_limited(await sign_in(limited, "nobody-at-all", WRONG))

    async def test_a_successful_sign_in_does_not_reset_the_counter(
        self, limited: httpx.AsyncClient
    ) -> None:
        await register(limited, "interleave")
        await fail_sign_ins(limited, "interleave", 2)
        assert data_of(await sign_in(limited, "interleave", STRONG_PASSWORD), "login")
        await fail_sign_ins(limited, "interleave", 1)

        assert_rate_limited(await sign_in(limited, "interleave", STRONG_PASSWORD))

    async def test_one_accounts_limit_leaves_other_accounts_alone(
        self, limited: httpx.AsyncClient
    ) -> None:
        await register(limited, "victim")
        await register(limited, "bystander")
        await fail_sign_ins(limited, "victim", 3)

        assert data_of(await sign_in(limited, "bystander", STRONG_PASSWORD), "login")

    async def test_a_refused_attempt_checks_no_password_and_records_nothing(
        self, limited: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        registered = await register(limited, "quiet")
        await fail_sign_ins(limited, "quiet", 3)

        for _ in range(3):
            assert_rate_limited(await sign_in(limited, "quiet", WRONG))

        assert event_kinds(database, registered["user"]["id"]).count("LOGIN_FAILED") == 3

    async def test_failed_change_password_attempts_count_toward_the_account_limit(
        self, limited: httpx.AsyncClient
    ) -> None:
        registered = await register(limited, "changer")
        for _ in range(3):
            body = await gql(
                limited,
                CHANGE_PASSWORD,
                {"input": {"currentPassword": WRONG, "newPassword": "Marmot-Glacier-Velvet-77"}},
                token=registered["accessToken"],
            )
            assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

        assert_rate_limited(await sign_in(limited, "changer", STRONG_PASSWORD))

    async def test_change_password_is_refused_once_the_account_is_limited(
        self, limited: httpx.AsyncClient
    ) -> None:
        registered = await register(limited, "lockedout")
        await fail_sign_ins(limited, "lockedout", 3)

        body = await gql(
            limited,
            CHANGE_PASSWORD,
            {
                "input": {
                    "currentPassword": STRONG_PASSWORD,
                    "newPassword": "Marmot-Glacier-Velvet-77",
                }
            },
            token=registered["accessToken"],
        )

        assert_rate_limited(body)


class TestAddressLimits:
    async def test_failed_logins_across_many_accounts_hit_the_ip_limit(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_login_ip="4/15minutes")
        async with running_app(settings) as client:
            await register(client, "sprayed")
            for index in range(4):
                await fail_sign_ins(client, f"spray-target-{index}", 1)

            body = await sign_in(client, "sprayed", STRONG_PASSWORD)

        assert_rate_limited(body)

    async def test_the_ip_limit_does_not_touch_other_addresses(self, database: SqlDatabase) -> None:
        settings = make_settings(database.url, rate_limit_login_ip="4/15minutes")
        async with (
            running_app_with_peer(settings, ("192.0.2.1", 1000)) as attacker,
            running_app_with_peer(settings, ("192.0.2.2", 1000)) as honest,
        ):
            await register(honest, "elsewhere")
            for index in range(4):
                await fail_sign_ins(attacker, f"spray-target-{index}", 1)
            assert_rate_limited(await sign_in(attacker, "elsewhere", STRONG_PASSWORD))

            body = await sign_in(honest, "elsewhere", STRONG_PASSWORD)

        assert data_of(body, "login")

    async def test_registrations_over_the_ip_limit_are_refused_and_create_nothing(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_register_ip="2/hour")
        async with running_app(settings) as client:
            await register(client)
            await register(client)

            body = await gql(client, REGISTER, {"input": register_input("third")})

        assert_rate_limited(body, window_seconds=3600)
        assert database.count("users") == 2


# --- Redis ---------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis; only its keys are deleted after."""
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        message = f"Redis at {REDIS_URL} is unreachable: {error}"
        connection.close()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the Redis tests too", pytrace=False)
        pytest.skip(message)
    prefix = f"gqlauth-test-{uuid4().hex}"
    try:
        yield prefix
    finally:
        keys = list(connection.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            connection.delete(*keys)
        connection.close()


def redis_keys(prefix: str) -> list[bytes]:
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return list(connection.scan_iter(match=f"{prefix}*"))
    finally:
        connection.close()


class TestSharedThroughRedis:
    async def test_failures_on_one_instance_count_on_another(
        self, database: SqlDatabase, redis_prefix: str
    ) -> None:
        settings = make_settings(
            database.url,
            redis_url=REDIS_URL,
            rate_limit_key_prefix=redis_prefix,
            rate_limit_login_account="3/15minutes",
        )
        async with running_app(settings) as first, running_app(settings) as second:
            await register(first, "shared")
            await fail_sign_ins(first, "shared", 3)

            body = await sign_in(second, "shared", STRONG_PASSWORD)

        assert_rate_limited(body)
        assert redis_keys(redis_prefix)

    async def test_another_key_prefix_keeps_its_own_counts(
        self, database: SqlDatabase, redis_prefix: str
    ) -> None:
        common = {"redis_url": REDIS_URL, "rate_limit_login_account": "3/15minutes"}
        ours = make_settings(database.url, rate_limit_key_prefix=redis_prefix, **common)
        theirs = make_settings(database.url, rate_limit_key_prefix=f"{redis_prefix}-b", **common)
        async with running_app(ours) as first, running_app(theirs) as second:
            await register(first, "separate")
            await fail_sign_ins(first, "separate", 3)

            body = await sign_in(second, "separate", STRONG_PASSWORD)

        assert data_of(body, "login")


class TestRedisDown:
    async def test_development_falls_back_to_memory_and_still_limits(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(
            database.url, redis_url=CLOSED_REDIS_URL, rate_limit_login_account="3/15minutes"
        )
        async with running_app(settings) as client:
            await register(client, "fallback")
            assert data_of(await sign_in(client, "fallback", STRONG_PASSWORD), "login")
            await fail_sign_ins(client, "fallback", 3)

            response = await client.post(
                "/graphql",
                json={
                    "query": LOGIN,
                    "variables": {"input": {"username": "fallback", "password": STRONG_PASSWORD}},
                },
            )

        assert response.status_code == 200
        assert_rate_limited(response.json())

    async def test_production_refuses_sign_ins_rather_than_counting_nowhere(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(make_settings(database.url)) as development:
            await register(development, "closed")
        production = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            secret_key=SECRET_KEY,
            database_url=database.url,
            redis_url=CLOSED_REDIS_URL,
        )
        async with running_app(production) as client:
            response = await client.post(
                "/graphql",
                json={
                    "query": LOGIN,
                    "variables": {"input": {"username": "closed", "password": STRONG_PASSWORD}},
                },
            )

        assert response.status_code == 200
        assert_rate_limited(response.json(), window_seconds=60)
        assert "LOGIN_SUCCEEDED" not in event_kinds(database)
