"""An API key as a credential under attack: forged and mangled keys, guessing, revoked,
expired and orphaned keys, the per-key limit, lastUsedAt, and a secret that never shows."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import string
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gql_auth.core.models import utcnow
from gql_auth.settings import Settings
from tests.support.api_keys import (
    API_KEYS,
    REVOKE_API_KEY,
    USER_SCOPES,
    api_key_rows,
    api_key_secret,
    create_api_key,
    update_api_key,
    with_checksum,
)
from tests.support.helpers import (
    LOGIN,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    assert_no_leak,
    data_of,
    gql,
    make_settings,
    only_error,
    register,
    register_admin,
    running_app,
)

# What a key request may be told instead of an answer, and how long to wait at most.
GUESS_LIMIT = 3
KEY_LIMIT = 5
LAST_USED = "query { apiKeys { id lastUsedAt } }"


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement of the apps started after it: the app's own engine's, and the
    viewer read's, which runs on raw sqlite3 connections (seen through their trace callback).
    Clear it before the request to watch."""
    seen: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(seen.append)

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(sa.engine.Engine, "connect", trace)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
        sa.event.remove(sa.engine.Engine, "connect", trace)


def key_reads(statements: list[str]) -> list[str]:
    return [statement for statement in statements if "api_keys" in statement]


def _flip(character: str) -> str:
    """Another base62 digit."""
    return "1" if character != "1" else "2"


def mangled(secret: str) -> dict[str, str]:
    """Ways to get a real key slightly wrong, each one refused offline (or not a key at all)."""
    body, check = secret[:-6], secret[-6:]
    middle = len(secret) // 2
    return {
        "flipped first checksum digit": body + _flip(check[0]) + check[1:],
        "flipped last checksum digit": secret[:-1] + _flip(secret[-1]),
        "flipped random digit": secret[:10] + _flip(secret[10]) + secret[11:],
        "checksums swapped": body + check[::-1] if check != check[::-1] else body + "000000",
        "truncated by one": secret[:-1],
        "truncated to the prefix": "gqa_",
        "truncated to 26 random digits": with_checksum(secret[:30]),
        "one digit more": secret + "0",
        "65 random digits": with_checksum("gqa_" + "A" * 65),
        "lower-cased": secret.lower() if secret.lower() != secret else secret.upper(),
        "upper-cased": secret.upper(),
        "space inside": secret[:middle] + " " + secret[middle:],
        "tab inside": secret[:middle] + "\t" + secret[middle:],
        "prefix without underscore": "gqa" + secret[4:],
        "another prefix": "gqb_" + secret[4:],
        "underscore inside": secret[:middle] + "_" + secret[middle + 1 :],
        "dash inside": secret[:middle] + "-" + secret[middle + 1 :],
    }


# Characters that look like base62 digits, sent as UTF-8 in the header.
LOOK_ALIKES = {
    "cyrillic a": "\u0430",
    "cyrillic O": "\u041e",
    "fullwidth 1": "\uff11",
    "latin-1 e acute": "\u00e9",
    "zero-width space": "\u200b",
}


async def with_raw_authorization(client: httpx.AsyncClient, authorization: bytes) -> httpx.Response:
    """`me` with the header's bytes exactly as given (httpx would refuse non-ASCII text)."""
    return await client.post(
        "/graphql",
        json={"query": ME},
        headers=[(b"authorization", authorization)],
    )


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(
        database.url,
        rate_limit_login_ip=f"{GUESS_LIMIT}/15minutes",
        rate_limit_api_key=f"{KEY_LIMIT}/minute",
    )


@pytest.fixture
async def client(settings: Settings, statements: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client


def assert_rate_limited(body: dict[str, Any], *, window_seconds: int) -> None:
    error = assert_error(body, "RATE_LIMITED")
    retry_after = error["extensions"]["retryAfter"]
    assert isinstance(retry_after, int)
    assert 0 < retry_after <= window_seconds
    assert body["data"] is None


class TestMangledKeys:
    async def test_every_mangled_key_is_token_invalid_without_a_database_read(
        self, database: SqlDatabase, statements: list[str]
    ) -> None:
        """One fresh address each time: the guesses these count must not stop the next."""
        settings = make_settings(database.url)  # guesses per address: the default 100
        async with running_app(settings) as client:
            owner = await register(client)
            secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])
            data_of(await gql(client, ME, token=secret), "me")  # connections warm
            assert key_reads(statements)  # the trace sees the key read
            for name, key in mangled(secret).items():
                statements.clear()
                response = await client.post(
                    "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {key}"}
                )
                assert_no_leak(response)
                assert_error(response.json(), "UNAUTHENTICATED", reason="TOKEN_INVALID")
                assert statements == [], name
                assert key not in response.text, name
            # The owner's own key still works: the mangled ones were never it.
            assert data_of(await gql(client, ME, token=secret), "me")["id"] == owner["user"]["id"]

    @pytest.mark.parametrize("name", sorted(LOOK_ALIKES))
    async def test_a_look_alike_character_is_token_invalid_not_a_500(
        self, client: httpx.AsyncClient, statements: list[str], name: str
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])
        forged = secret[:12] + LOOK_ALIKES[name] + secret[13:]
        data_of(await gql(client, ME, token=secret), "me")
        assert key_reads(statements)  # the trace sees the key read

        statements.clear()
        response = await with_raw_authorization(client, f"Bearer {forged}".encode())

        assert_no_leak(response)
        assert_error(response.json(), "UNAUTHENTICATED", reason="TOKEN_INVALID")
        assert statements == []

    async def test_a_well_formed_key_nobody_holds_is_read_once_and_token_invalid(
        self, client: httpx.AsyncClient, statements: list[str]
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])
        data_of(await gql(client, ME, token=secret), "me")  # the read's connection is open
        nobody_s = with_checksum("gqa_" + "Z" * 32)

        statements.clear()
        body = await gql(client, ME, token=nobody_s)

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")
        (read,) = statements
        assert read.startswith("SELECT") and "api_keys" in read

    async def test_a_key_sent_with_another_scheme_or_in_pieces_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])

        for header in (f"Basic {secret}", f"Token {secret}", secret, f"Bearer{secret}"):
            response = await client.post(
                "/graphql", json={"query": ME}, headers={"Authorization": header}
            )
            assert_no_leak(response)
            assert only_error(response.json())["extensions"]["code"] == "UNAUTHENTICATED", header


class TestGuessing:
    async def test_unknown_keys_count_against_the_address_like_wrong_passwords(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        for digit in "ABC"[:GUESS_LIMIT]:
            body = await gql(client, ME, token=with_checksum("gqa_" + digit * 32))
            assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")

        guess = await gql(client, ME, token=with_checksum("gqa_" + "D" * 32))
        login = await gql(
            client,
            LOGIN,
            {"input": {"username": owner["user"]["username"], "password": STRONG_PASSWORD}},
        )

        assert_rate_limited(guess, window_seconds=15 * 60)
        assert_rate_limited(login, window_seconds=15 * 60)

    async def test_mangled_keys_count_too(self, client: httpx.AsyncClient) -> None:
        for count in range(GUESS_LIMIT):
            body = await gql(client, ME, token=f"gqa_{count}")
            assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")

        assert_rate_limited(await gql(client, ME, token="gqa_x"), window_seconds=15 * 60)

    async def test_the_owner_s_revoked_key_is_no_guess(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])
        update_api_key(database, created["apiKey"]["id"], revoked_at=utcnow())

        for _ in range(GUESS_LIMIT + 1):
            body = await gql(client, ME, token=created["secret"])
            assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")


class TestKeysThatNoLongerWork:
    async def test_a_revoked_key_is_token_revoked(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])
        variables = {"id": created["apiKey"]["id"]}
        data_of(
            await gql(client, REVOKE_API_KEY, variables, token=owner["accessToken"]), "revokeApiKey"
        )

        body = await gql(client, ME, token=created["secret"])

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_REVOKED")

    async def test_an_expired_key_is_token_revoked(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        created = await create_api_key(
            client, owner["accessToken"], ["profile:read"], expires_in_days=1
        )
        data_of(await gql(client, ME, token=created["secret"]), "me")

        update_api_key(
            database, created["apiKey"]["id"], expires_at=utcnow() - timedelta(seconds=1)
        )

        assert_error(
            await gql(client, ME, token=created["secret"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )
        assert data_of(await gql(client, API_KEYS, token=owner["accessToken"]), "apiKeys") == []

    async def test_a_deactivated_owner_s_key_is_token_revoked_until_reactivation(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])

        database.update_user(owner["user"]["id"], is_active=False)
        refused = await gql(client, ME, token=secret)
        database.update_user(owner["user"]["id"], is_active=True)
        again = await gql(client, ME, token=secret)

        assert_error(refused, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
        assert data_of(again, "me")["id"] == owner["user"]["id"]

    async def test_a_deleted_owner_s_keys_are_gone(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])
        users = database.table("users")

        with database.engine.begin() as connection:
            if database.engine.dialect.name == "sqlite":  # as the app's connections have it
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.execute(sa.delete(users).where(users.c.id == int(owner["user"]["id"])))

        assert api_key_rows(database) == []
        assert_error(await gql(client, ME, token=secret), "UNAUTHENTICATED", reason="TOKEN_INVALID")


class TestThePerKeyLimit:
    async def test_parallel_requests_with_one_key_get_exactly_the_limit(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])
        other = await api_key_secret(client, owner["accessToken"], ["profile:read"])

        bodies = await asyncio.gather(*(gql(client, ME, token=secret) for _ in range(12)))

        answered = [body for body in bodies if not body.get("errors")]
        limited = [body for body in bodies if body.get("errors")]
        assert len(answered) == KEY_LIMIT
        assert len(limited) == 12 - KEY_LIMIT
        for body in limited:
            assert_rate_limited(body, window_seconds=60)
        # Another key of the same owner counts on its own, and the access token is no key.
        assert data_of(await gql(client, ME, token=other), "me")["id"] == owner["user"]["id"]
        assert data_of(await gql(client, ME, token=owner["accessToken"]), "me")

    async def test_a_limited_key_is_not_a_guess_of_its_address(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])
        for _ in range(KEY_LIMIT + GUESS_LIMIT):
            await gql(client, ME, token=secret)

        login = await gql(
            client,
            LOGIN,
            {"input": {"username": owner["user"]["username"], "password": STRONG_PASSWORD}},
        )

        assert data_of(login, "login")["accessToken"]


class TestLastUsed:
    async def test_a_request_sets_it_and_it_is_written_at_most_once_a_minute(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])
        key_id = created["apiKey"]["id"]
        assert created["apiKey"]["lastUsedAt"] is None

        before = utcnow()
        data_of(await gql(client, ME, token=created["secret"]), "me")
        (first,) = data_of(await gql(client, LAST_USED, token=owner["accessToken"]), "apiKeys")
        (stored,) = api_key_rows(database)
        data_of(await gql(client, ME, token=created["secret"]), "me")
        (unchanged,) = api_key_rows(database)

        assert first["id"] == key_id and first["lastUsedAt"] is not None
        assert stored["last_used_at"] is not None
        assert stored["last_used_at"].replace(tzinfo=None) >= before.replace(
            tzinfo=None, microsecond=0
        )
        assert unchanged["last_used_at"] == stored["last_used_at"]

        moved_back = utcnow() - timedelta(minutes=2)
        update_api_key(database, key_id, last_used_at=moved_back)
        data_of(await gql(client, ME, token=created["secret"]), "me")
        (again,) = api_key_rows(database)

        assert again["last_used_at"].replace(tzinfo=None) > moved_back.replace(tzinfo=None)

    async def test_a_request_refused_a_field_is_still_a_use_the_owner_sees(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        """A leaked key being tried on closed fields shows in the owner's list."""
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])

        body = await gql(client, "query { apiKeys { id } }", token=secret)

        assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED")
        assert [row["last_used_at"] is not None for row in api_key_rows(database)] == [True]

    async def test_a_revoked_key_s_refused_requests_do_not_set_it(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])
        update_api_key(database, created["apiKey"]["id"], revoked_at=utcnow())

        assert_error(
            await gql(client, ME, token=created["secret"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )
        assert [row["last_used_at"] for row in api_key_rows(database)] == [None]


class TestTheSecretNeverShows:
    async def test_not_in_logs_lists_or_error_messages(
        self, client: httpx.AsyncClient, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        admin = await register_admin(client, database)
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], USER_SCOPES)
        secret = created["secret"]
        random_part = secret[len(created["apiKey"]["prefix"]) : -6]
        seen = [
            await gql(client, ME, token=secret),
            await gql(client, "query { apiKeys { id } }", token=secret),
            await gql(client, ME, token=secret[:-1] + _flip(secret[-1])),
            await gql(client, ME, token=secret + "0"),
            await gql(client, ME, token=secret.replace("gqa_", "gqa_ ")),
            await gql(client, API_KEYS, token=owner["accessToken"]),
            await gql(
                client,
                "query U($id: ID!) { userApiKeys(userId: $id) { id name prefix scopes } }",
                {"id": owner["user"]["id"]},
                token=admin["accessToken"],
            ),
        ]
        data_of(
            await gql(
                client,
                REVOKE_API_KEY,
                {"id": created["apiKey"]["id"]},
                token=owner["accessToken"],
            ),
            "revokeApiKey",
        )
        seen.append(await gql(client, ME, token=secret))

        logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
        assert caplog.records  # something was logged: the check below looks at it
        assert random_part not in logged
        assert random_part not in str(seen)
        (listed,) = data_of(seen[5], "apiKeys")
        assert listed["prefix"] == secret[:8]
        assert set(string.ascii_letters + string.digits) >= set(listed["prefix"][4:])
