"""Rate limits: failed sign-ins per (account, client), per account and per address, reserved
before the password is checked so parallel guesses count too; successful sign-ins per
(account, client); registrations per address; and the counts shared through Redis (or kept
in memory, or refused, when Redis is down)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.helpers import (
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
    one_app_with_peers,
    only_error,
    register,
    register_input,
    running_app,
)
from tests.support.redis import REDIS_URL, redis_keys

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


def outcomes(bodies: Sequence[dict[str, Any]]) -> Counter[str]:
    """How many answers were sign-ins and how many carried each error code.

    Every RATE_LIMITED answer must also say how long to wait.
    """
    counts: Counter[str] = Counter()
    for body in bodies:
        if not body.get("errors"):
            assert data_of(body, next(iter(body["data"])))["accessToken"]
            counts["SIGNED_IN"] += 1
            continue
        code = only_error(body)["extensions"]["code"]
        if code == "RATE_LIMITED":
            assert_rate_limited(body, window_seconds=3600)
        counts[code] += 1
    return counts


async def parallel_sign_ins(
    client: httpx.AsyncClient, username: str, password: str, times: int
) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(sign_in(client, username, password) for _ in range(times))))


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
        """The default, RATE_LIMIT_LOGIN_ACCOUNT_CLIENT=10/15minutes, from one client."""
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


def fullwidth(name: str) -> str:
    """The name in fullwidth letters, as a Japanese keyboard may type it: 'ｇｈｏｓｔ'."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in name)


def spellings_of(name: str) -> list[str]:
    return [name, fullwidth(name), name.upper(), f"  {name.title()} "]


class TestEverySpellingIsOneName:
    """Limits key a typed name by what it means (login_key), whether or not an account has it:
    otherwise a spelling that escapes the limit only for unknown names tells which exist."""

    @pytest.mark.parametrize("account", ["known", "unknown"])
    async def test_after_the_limit_every_spelling_of_the_name_is_limited(
        self, database: SqlDatabase, account: str
    ) -> None:
        settings = make_settings(database.url, rate_limit_login_account_client="3/15minutes")
        name = "alice" if account == "known" else "ghost"
        async with running_app(settings) as client:
            if account == "known":
                await register(client, name)
            await fail_sign_ins(client, name, 3)

            bodies = [await sign_in(client, spelling, WRONG) for spelling in spellings_of(name)]

        assert outcomes(bodies) == {"RATE_LIMITED": 4}
        assert event_kinds(database).count("LOGIN_FAILED") == 3

    @pytest.mark.parametrize("account", ["known", "unknown"])
    async def test_parallel_mixed_spellings_check_at_most_the_limit(
        self, database: SqlDatabase, account: str
    ) -> None:
        settings = make_settings(database.url, rate_limit_login_account_client="3/15minutes")
        name = "wide_alice" if account == "known" else "wide_ghost"
        async with running_app(settings) as client:
            if account == "known":
                await register(client, name)

            bodies = await asyncio.gather(
                *(sign_in(client, spelling, WRONG) for spelling in spellings_of(name) * 4)
            )

        assert outcomes(bodies) == {"UNAUTHENTICATED": 3, "RATE_LIMITED": 13}
        assert event_kinds(database).count("LOGIN_FAILED") == 3


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
        async with one_app_with_peers(settings, "192.0.2.1", "192.0.2.2") as (attacker, honest):
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

    async def test_parallel_registrations_get_the_ip_limit_and_no_more(
        self, database: SqlDatabase
    ) -> None:
        """A plain count: each registration takes its slot before the account is made."""
        settings = make_settings(database.url, rate_limit_register_ip="2/hour")
        async with running_app(settings) as client:
            bodies = await asyncio.gather(
                *(gql(client, REGISTER, {"input": register_input(f"burst{n}")}) for n in range(8))
            )

        assert outcomes(bodies) == {"SIGNED_IN": 2, "RATE_LIMITED": 6}
        assert database.count("users") == 2


class TestParallelGuesses:
    """Each attempt is reserved before its password is checked: a burst gets the limit, no more."""

    @pytest.mark.parametrize(
        "setting", ["rate_limit_login_account_client", "rate_limit_login_account"]
    )
    async def test_parallel_wrong_logins_check_at_most_the_limit_of_passwords(
        self, database: SqlDatabase, setting: str
    ) -> None:
        settings = make_settings(database.url, **{setting: "5/15minutes"})
        async with running_app(settings) as client:
            registered = await register(client, "burst")

            bodies = await parallel_sign_ins(client, "burst", WRONG, 20)
            after = await sign_in(client, "burst", STRONG_PASSWORD)

        assert outcomes(bodies) == {"UNAUTHENTICATED": 5, "RATE_LIMITED": 15}
        assert event_kinds(database, registered["user"]["id"]).count("LOGIN_FAILED") == 5
        assert_rate_limited(after)

    async def test_a_correct_password_in_a_later_burst_is_refused_like_the_guesses(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_login_account="5/15minutes")
        async with running_app(settings) as client:
            registered = await register(client, "second_burst")
            await parallel_sign_ins(client, "second_burst", WRONG, 20)

            passwords = [WRONG] * 5 + [STRONG_PASSWORD] + [WRONG] * 5
            bodies = await asyncio.gather(
                *(sign_in(client, "second_burst", password) for password in passwords)
            )

        assert outcomes(bodies) == {"RATE_LIMITED": 11}
        kinds = event_kinds(database, registered["user"]["id"])
        assert kinds.count("LOGIN_FAILED") == 5
        assert "LOGIN_SUCCEEDED" not in kinds

    async def test_parallel_wrong_current_passwords_check_at_most_the_limit(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_login_account="5/15minutes")
        async with running_app(settings) as client:
            registered = await register(client, "burst_changer")
            attempt = {
                "input": {"currentPassword": WRONG, "newPassword": "Marmot-Glacier-Velvet-77"}
            }

            bodies = await asyncio.gather(
                *(
                    gql(client, CHANGE_PASSWORD, attempt, token=registered["accessToken"])
                    for _ in range(12)
                )
            )

        assert outcomes(bodies) == {"UNAUTHENTICATED": 5, "RATE_LIMITED": 7}
        assert event_kinds(database, registered["user"]["id"]).count("LOGIN_FAILED") == 5

    async def test_parallel_guesses_at_many_accounts_stop_at_the_ip_limit(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_login_ip="4/15minutes")
        async with running_app(settings) as client:
            bodies = await asyncio.gather(
                *(sign_in(client, f"sprayed-{index}", WRONG) for index in range(20))
            )

        assert outcomes(bodies) == {"UNAUTHENTICATED": 4, "RATE_LIMITED": 16}
        assert event_kinds(database).count("LOGIN_FAILED") == 4


ATTACKER, OWNER, ELSEWHERE = "198.51.100.66", "203.0.113.10", "192.0.2.77"


class TestNoLockOutFromAnotherAddress:
    async def test_an_attacker_who_used_up_their_budget_cannot_lock_the_owner_out(
        self, settings: Settings
    ) -> None:
        """The defaults: 10 failures per (account, client), 100 per account."""
        async with one_app_with_peers(settings, ATTACKER, OWNER) as (attacker, owner):
            await register(owner, "admin_like")

            burst = await parallel_sign_ins(attacker, "admin_like", WRONG, 15)
            attackers_right_guess = await sign_in(attacker, "admin_like", STRONG_PASSWORD)
            owners = await sign_in(owner, "admin_like", STRONG_PASSWORD)

        assert outcomes(burst) == {"UNAUTHENTICATED": 10, "RATE_LIMITED": 5}
        assert_rate_limited(attackers_right_guess)
        assert data_of(owners, "login")["user"]["username"] == "admin_like"

    async def test_refused_attempts_do_not_eat_the_accounts_shared_budget(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_login_account="15/hour")
        async with one_app_with_peers(settings, ATTACKER, OWNER) as (attacker, owner):
            registered = await register(owner, "shared_budget")

            burst = await parallel_sign_ins(attacker, "shared_budget", WRONG, 40)
            owners = await sign_in(owner, "shared_budget", STRONG_PASSWORD)

        assert outcomes(burst) == {"UNAUTHENTICATED": 10, "RATE_LIMITED": 30}
        assert data_of(owners, "login")
        assert event_kinds(database, registered["user"]["id"]).count("LOGIN_FAILED") == 10

    async def test_failures_from_many_addresses_together_hit_the_account_limit(
        self, database: SqlDatabase
    ) -> None:
        """The accepted trade-off: enough addresses together can still lock an account."""
        settings = make_settings(database.url, rate_limit_login_account="6/hour")
        async with one_app_with_peers(settings, ATTACKER, ELSEWHERE, "192.0.2.78", OWNER) as (
            *attackers,
            owner,
        ):
            await register(owner, "distributed")
            for attacker in attackers:
                await fail_sign_ins(attacker, "distributed", 2)

            body = await sign_in(owner, "distributed", STRONG_PASSWORD)

        assert_rate_limited(body, window_seconds=3600)

    async def test_the_strict_limit_is_per_account_and_client_not_per_client(
        self, settings: Settings
    ) -> None:
        async with one_app_with_peers(settings, ATTACKER) as (attacker,):
            await register(attacker, "attackers_own")
            await fail_sign_ins(attacker, "someone_else", 10)

            body = await sign_in(attacker, "attackers_own", STRONG_PASSWORD)

        assert data_of(body, "login")


class TestSuccessfulSignIns:
    """RATE_LIMIT_SIGNIN_ACCOUNT_CLIENT: sign-ins (right passwords) per (account, client)."""

    async def test_sign_ins_over_the_limit_are_refused_for_that_account_and_client_only(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, rate_limit_signin_account_client="3/15minutes")
        async with one_app_with_peers(settings, OWNER, ELSEWHERE) as (owner, elsewhere):
            await register(owner, "frequent")
            await register(owner, "neighbour")
            for _ in range(3):
                assert data_of(await sign_in(owner, "frequent", STRONG_PASSWORD), "login")

            refused = await sign_in(owner, "frequent", STRONG_PASSWORD)
            other_client = await sign_in(elsewhere, "frequent", STRONG_PASSWORD)
            other_account = await sign_in(owner, "neighbour", STRONG_PASSWORD)

        assert_rate_limited(refused)
        assert data_of(other_client, "login")
        assert data_of(other_account, "login")

    async def test_parallel_sign_ins_open_at_most_the_limit_of_sessions(
        self, database: SqlDatabase
    ) -> None:
        # Four admitted at once: they also take turns on the user's row without a deadlock.
        settings = make_settings(database.url, rate_limit_signin_account_client="4/15minutes")
        async with running_app(settings) as client:
            registered = await register(client, "many_sessions")

            bodies = await parallel_sign_ins(client, "many_sessions", STRONG_PASSWORD, 10)

        assert outcomes(bodies) == {"SIGNED_IN": 4, "RATE_LIMITED": 6}
        assert event_kinds(database, registered["user"]["id"]).count("LOGIN_SUCCEEDED") == 4
        assert database.count("sessions") == 1 + 4  # registration's, then the sign-ins'

    async def test_the_owners_sign_ins_give_back_the_failure_budget(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(
            database.url,
            rate_limit_login_account_client="2/15minutes",
            rate_limit_login_account="2/hour",
            rate_limit_login_ip="2/15minutes",
        )
        async with running_app(settings) as client:
            await register(client, "regular")
            for _ in range(8):
                assert data_of(await sign_in(client, "regular", STRONG_PASSWORD), "login")
            await fail_sign_ins(client, "regular", 2)

            body = await sign_in(client, "regular", STRONG_PASSWORD)

        assert_rate_limited(body, window_seconds=3600)  # until every full window has room

    async def test_failures_do_not_use_up_the_sign_in_budget(self, database: SqlDatabase) -> None:
        settings = make_settings(database.url, rate_limit_signin_account_client="2/15minutes")
        async with running_app(settings) as client:
            await register(client, "typo_prone")
            await fail_sign_ins(client, "typo_prone", 5)

            first = await sign_in(client, "typo_prone", STRONG_PASSWORD)
            second = await sign_in(client, "typo_prone", STRONG_PASSWORD)

        assert data_of(first, "login")
        assert data_of(second, "login")


# --- Redis ---------------------------------------------------------------------------------


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

    async def test_parallel_guesses_through_two_instances_check_at_most_the_limit(
        self, database: SqlDatabase, redis_prefix: str
    ) -> None:
        settings = make_settings(
            database.url,
            redis_url=REDIS_URL,
            rate_limit_key_prefix=redis_prefix,
            rate_limit_login_account="5/15minutes",
        )
        async with running_app(settings) as first, running_app(settings) as second:
            registered = await register(first, "shared_burst")

            bodies = await asyncio.gather(
                *(sign_in(client, "shared_burst", WRONG) for client in [first, second] * 10)
            )
            after = await sign_in(second, "shared_burst", STRONG_PASSWORD)

        assert outcomes(bodies) == {"UNAUTHENTICATED": 5, "RATE_LIMITED": 15}
        assert event_kinds(database, registered["user"]["id"]).count("LOGIN_FAILED") == 5
        assert_rate_limited(after)

    async def test_a_sign_in_gives_its_reservation_back_in_redis_too(
        self, database: SqlDatabase, redis_prefix: str
    ) -> None:
        settings = make_settings(
            database.url,
            redis_url=REDIS_URL,
            rate_limit_key_prefix=redis_prefix,
            rate_limit_login_account_client="2/15minutes",
        )
        async with running_app(settings) as first, running_app(settings) as second:
            await register(first, "redis_regular")
            for client in [first, second] * 3:
                assert data_of(await sign_in(client, "redis_regular", STRONG_PASSWORD), "login")
            await fail_sign_ins(first, "redis_regular", 2)

            body = await sign_in(second, "redis_regular", STRONG_PASSWORD)

        assert_rate_limited(body)

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
        production = Settings(
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
