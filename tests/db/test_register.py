"""register on every backend: case-insensitive uniqueness (one e-mail key on every backend),
and parallel registrations of one name or of different users."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.databases import Backend
from tests.support.helpers import (
    AUTH_PAYLOAD_FIELDS,
    REGISTER,
    SqlDatabase,
    assert_error,
    gql,
    login,
    register,
    register_body,
    register_input,
    running_app,
    unique_username,
)


class TestDuplicates:
    async def test_register_with_a_taken_username_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "bob", "bob@example.com")

        body = await register_body(client, username="bob", email="other@example.com")

        assert_error(body, "BAD_USER_INPUT", field="username", reason="TAKEN")
        assert body.get("data") is None
        assert database.count("users") == 1

    async def test_usernames_differing_only_in_case_are_the_same(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "Bob", "bob@example.com")

        body = await register_body(client, username="bob", email="other@example.com")

        assert_error(body, "BAD_USER_INPUT", field="username", reason="TAKEN")
        assert database.count("users") == 1

    async def test_emails_differing_only_in_case_are_the_same(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "carol", "Carol@Example.com")

        body = await register_body(client, username="carol2", email="cAROL@example.COM")

        assert_error(body, "BAD_USER_INPUT", field="email", reason="TAKEN")
        assert database.count("users") == 1
        assert database.count("sessions") == 1


class TestOneEmailKeyOnEveryBackend:
    """Uniqueness and sign-in compare NFKC + casefold byte for byte, whatever the collation."""

    async def test_an_accent_makes_a_different_address(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        plain = await register(client, "plain", "jose@example.com")
        accented = await register(client, "accented", "jos\u00e9@example.com")

        as_plain = await login(client, "jose@example.com")
        as_accented = await login(client, "JOS\u00c9@example.com")

        assert database.count("users") == 2
        assert as_plain["user"]["id"] == plain["user"]["id"]
        assert as_accented["user"]["id"] == accented["user"]["id"]

    async def test_a_decomposed_accent_is_the_same_address_as_the_composed_one(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "composed", "jos\u00e9@example.com")

        body = await register_body(client, username="decomposed", email="jose\u0301@example.com")

        assert_error(body, "BAD_USER_INPUT", field="email", reason="TAKEN")

    @pytest.mark.parametrize(
        "spelling",
        [
            "\uff4a\uff4f\uff53\uff45@example.com",  # fullwidth local part
            "jose@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",  # fullwidth domain
            "JOSE@EXAMPLE.COM",
        ],
        ids=["fullwidth-local", "fullwidth-domain", "upper-case"],
    )
    async def test_look_alike_spellings_are_the_same_address(
        self, client: httpx.AsyncClient, database: SqlDatabase, spelling: str
    ) -> None:
        owner = await register(client, "jose", "jose@example.com")

        body = await register_body(client, username="copycat", email=spelling)
        signed_in = await login(client, spelling)

        assert_error(body, "BAD_USER_INPUT", field="email", reason="TAKEN")
        assert database.count("users") == 1
        assert signed_in["user"]["id"] == owner["user"]["id"]

    async def test_punycode_and_unicode_domains_are_the_same_address(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client, "reader", "reader@b\u00fccher.example")

        body = await register_body(client, username="reader2", email="reader@xn--bcher-kva.example")
        signed_in = await login(client, "READER@XN--BCHER-KVA.EXAMPLE")

        assert owner["user"]["email"] == "reader@b\u00fccher.example"
        assert_error(body, "BAD_USER_INPUT", field="email", reason="TAKEN")
        assert signed_in["user"]["id"] == owner["user"]["id"]

    async def test_the_key_is_stored_beside_the_address_as_typed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        await register(client, "wide", "\uff37ide@Example.com")

        row = database.user_row("wide")

        assert (row["email"], row["email_key"]) == ("\uff57ide@example.com", "wide@example.com")


# Two registrations in one document: the first is the request's own, the second contested.
REGISTER_TWO = f"""
mutation Two($own: RegisterInput!, $contested: RegisterInput!) {{
  own: register(input: $own) {{ {AUTH_PAYLOAD_FIELDS} }}
  contested: register(input: $contested) {{ {AUTH_PAYLOAD_FIELDS} }}
}}"""


class TestRegistrationRace:
    """Parallel registrations of one name pass the availability check together; one wins.

    Two app instances, so separate engines and connections: only the unique
    index decides, and the losers must hear TAKEN, not INTERNAL_SERVER_ERROR.
    """

    @staticmethod
    def answers(bodies: list[dict[str, Any]], field: str) -> list[str]:
        return sorted(
            "+".join(
                f"{error['extensions'].get('field')}:{error['extensions'].get('reason')}"
                if error["extensions"].get("reason")
                else error["extensions"]["code"]
                for error in body["errors"]
            )
            if body.get("errors")
            else "ok"
            for body in bodies
        )

    @pytest.mark.parametrize("field", ["username", "email"])
    async def test_the_losers_of_a_race_for_one_name_are_told_it_is_taken(
        self, settings: Settings, database: SqlDatabase, field: str
    ) -> None:
        shared = unique_username("race")
        inputs = [
            register_input(shared, f"{shared}{n}@example.com")
            if field == "username"
            else register_input(f"{shared}{n}", f"{shared}@example.com")
            for n in range(4)
        ]
        async with running_app(settings) as first, running_app(settings) as second:
            bodies = await asyncio.gather(
                *(
                    gql(first if n % 2 else second, REGISTER, {"input": sent})
                    for n, sent in enumerate(inputs)
                )
            )

        assert self.answers(bodies, field) == sorted(["ok"] + [f"{field}:TAKEN"] * 3)
        assert database.count("users") == 1
        assert database.count("sessions") == 1

    async def test_losing_the_race_keeps_what_the_request_did_before(
        self, settings: Settings, database: SqlDatabase
    ) -> None:
        """A refusal commits the request: the account its first field opened is kept."""
        shared = unique_username("race")
        owns = [register_input() for _ in range(4)]
        contested = [register_input(shared, f"{shared}{n}@example.com") for n in range(4)]
        async with running_app(settings) as first, running_app(settings) as second:
            bodies = await asyncio.gather(
                *(
                    gql(
                        first if n % 2 else second,
                        REGISTER_TWO,
                        {"own": owns[n], "contested": contested[n]},
                    )
                    for n in range(4)
                )
            )
            for own in owns:
                await login(first, own["username"])  # each request's own account was kept

        assert self.answers(bodies, "username") == sorted(["ok"] + ["username:TAKEN"] * 3)
        assert database.count("users") == 5


class TestParallelRegistrationsOfDifferentUsers:
    async def test_they_never_conflict_with_each_other(
        self,
        backend: Backend,
        settings: Settings,
        database: SqlDatabase,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """New users' sessions share the end of the user_id index: no gap lock may join them.

        On SQLite, two engines on one file may still meet SQLITE_BUSY when a read
        transaction turns into a write; the retry answers those, so there every
        registration must succeed, and only InnoDB must not conflict at all.
        """
        caplog.set_level(logging.WARNING, logger="gql_auth")
        inputs = [register_input() for _ in range(12)]
        async with running_app(settings) as first, running_app(settings) as second:
            bodies = await asyncio.gather(
                *(
                    gql(first if n % 2 else second, REGISTER, {"input": inputs[n]})
                    for n in range(len(inputs))
                )
            )

        assert [body.get("errors") for body in bodies] == [None] * len(inputs)
        assert database.count("users") == database.count("sessions") == len(inputs)
        if backend.name == "mariadb":
            conflicts = [r.getMessage() for r in caplog.records if "conflict" in r.getMessage()]
            assert conflicts == []  # not even one that a retry papered over
