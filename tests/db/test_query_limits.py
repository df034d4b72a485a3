"""Worst-case documents at the token limit, sent in parallel on every backend: refused, and the
worker keeps answering /healthz and me."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from graphql import Source, TokenKind
from graphql.language.lexer import Lexer

from gql_auth.settings import Settings
from tests.support.helpers import (
    ME,
    SECRET_KEY,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    only_error,
    post_graphql,
    register,
    running_app,
)
from tests.support.query_limits import assert_refused_before_running

MAX_QUERY_TOKENS = 2000  # the default


def token_count(document: str) -> int:
    """Tokens as the parser counts them against MAX_QUERY_TOKENS."""
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def at_token_limit(build: Callable[[int], str]) -> str:
    """build(n) for the largest n that still fits under the default token limit."""
    n = 1
    while token_count(build(n + 1)) <= MAX_QUERY_TOKENS:
        n += 1 if n < 8 else n // 8
    while token_count(build(n)) > MAX_QUERY_TOKENS:
        n -= 1
    return build(n)


def doubling_chain(levels: int, end: str) -> str:
    """F0 spreads F1 twice, F1 spreads F2 twice ...: 2**levels copies of `end`."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query Stall {{ ...F0 }} {fragments} fragment F{levels} on Query {{ {end} }}"


# The document from the issue: 22 levels, 7.5 s of one worker before the fix.
ISSUE_EXAMPLE = doubling_chain(21, "...Nope")
WORST_CASES = {
    "unknown-spread": (lambda n: doubling_chain(n, "...Nope"), "UNKNOWN_FRAGMENT"),
    "cycle-back-into-the-chain": (lambda n: doubling_chain(n, "...F0"), "FRAGMENT_CYCLE"),
    "doubling-into-fields": (lambda n: doubling_chain(n, "__typename"), "TOO_COMPLEX"),
    "same-field-compared-pairwise": (
        lambda n: "{ " + "me { id username } " * n + "}",
        "TOO_COMPLEX",
    ),
    "fragments-compared-pairwise": (
        lambda n: (
            "{ "
            + " ".join(f"me {{ ...U{i} }}" for i in range(n))
            + " } "
            + " ".join(f"fragment U{i} on User {{ id username }}" for i in range(n))
        ),
        "TOO_COMPLEX",
    ),
    "depth-hidden-in-a-fragment-chain": (
        lambda n: (
            '{ __type(name: "User") { ...T0 } } '
            + " ".join(f"fragment T{i} on __Type {{ ofType {{ ...T{i + 1} }} }}" for i in range(n))
            + f" fragment T{n} on __Type {{ name }}"
        ),
        "TOO_DEEP",
    ),
}


def production_settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None, environment="production", secret_key=SECRET_KEY, database_url=database_url
    )


@pytest.fixture(params=["development", "production"])
async def either_environment(
    request: pytest.FixtureRequest, database: SqlDatabase
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "development":
        settings = make_settings(database.url)
    else:
        settings = production_settings(database.url)
    async with running_app(settings) as client:
        yield client


class TestWorstCaseDocuments:
    @pytest.mark.parametrize(("build", "reason"), WORST_CASES.values(), ids=WORST_CASES.keys())
    async def test_a_worst_case_document_at_the_token_limit_is_refused_with_its_reason(
        self,
        either_environment: httpx.AsyncClient,
        build: Callable[[int], str],
        reason: str,
    ) -> None:
        document = at_token_limit(build)
        assert token_count(document) > MAX_QUERY_TOKENS - 20

        response = await post_graphql(either_environment, document)

        assert response.status_code == 200
        assert_refused_before_running(response.json(), reason)

    async def test_the_issues_stalling_document_is_refused_as_an_unknown_fragment(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, ISSUE_EXAMPLE)

        error = assert_error(body, "GRAPHQL_VALIDATION_FAILED", reason="UNKNOWN_FRAGMENT")
        assert error["message"] == "Unknown fragment 'Nope'."

    async def test_a_cycle_names_the_fragment_it_returns_to(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(
            client, "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
        )

        error = assert_error(body, "GRAPHQL_VALIDATION_FAILED", reason="FRAGMENT_CYCLE")
        assert "'A'" in error["message"]

    async def test_stall_attacks_in_parallel_leave_healthz_and_me_answering(
        self, client: httpx.AsyncClient
    ) -> None:
        payload = await register(client)
        attacks = [at_token_limit(build) for build, _reason in WORST_CASES.values()]

        answers: list[Any] = await asyncio.gather(
            *(gql(client, document) for document in attacks * 2),
            client.get("/healthz"),
            gql(client, ME, token=payload["accessToken"]),
        )
        *refused, health, me = answers

        expected = [reason for _build, reason in WORST_CASES.values()] * 2
        assert [only_error(body)["extensions"]["reason"] for body in refused] == expected
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert data_of(me, "me")["id"] == payload["user"]["id"]

    async def test_an_ordinary_document_with_many_fragments_still_runs(
        self, client: httpx.AsyncClient
    ) -> None:
        """The refusals above are about shape, not about fragments as such."""
        payload = await register(client, "fragmented")
        fragments = " ".join(f"fragment U{i} on User {{ id username }}" for i in range(10))
        spreads = " ".join(f"...U{i}" for i in range(10))
        document = f"{{ me {{ {spreads} ... on User {{ email }} }} }} {fragments}"

        body = await gql(client, document, token=payload["accessToken"])

        assert data_of(body, "me") == {
            "id": payload["user"]["id"],
            "username": "fragmented",
            "email": payload["user"]["email"],
        }
