"""Document limits checked before anything runs: one credential check per request (aliases and
fragments included), depth (introspection too), aliases, tokens and batches. Worst-case
documents sent in parallel are in tests/db/test_query_limits.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from graphql import get_introspection_query

from tests.support.helpers import (
    LOGIN,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    make_settings,
    register,
    running_app,
)
from tests.support.query_limits import assert_refused_before_running, reasons

CREDENTIALS = '{username: "target", password: "guess-%d"}'


def login_field(index: int, alias: str | None = None) -> str:
    name = f"{alias}: login" if alias else "login"
    return f"{name}(input: {CREDENTIALS % index}) {{ accessToken }}"


SMUGGLED_LOGINS = {
    "fifty-aliases": "mutation { " + " ".join(login_field(i, f"a{i}") for i in range(50)) + " }",
    "two-aliases": f"mutation {{ {login_field(1, 'a')} {login_field(2, 'b')} }}",
    "two-fragments": (
        "mutation { ...A ...B } "
        f"fragment A on Mutation {{ {login_field(1, 'a')} }} "
        f"fragment B on Mutation {{ {login_field(2, 'b')} }}"
    ),
    "fragment-and-field": (
        f"mutation {{ {login_field(1)} ...B }} fragment B on Mutation {{ {login_field(2, 'b')} }}"
    ),
    "inline-fragment": (
        f"mutation {{ {login_field(1)} ... on Mutation {{ {login_field(2, 'b')} }} }}"
    ),
    "nested-fragments": (
        "mutation { ...Outer } "
        f"fragment Outer on Mutation {{ {login_field(1, 'a')} ...Inner }} "
        f"fragment Inner on Mutation {{ ... on Mutation {{ {login_field(2, 'b')} }} }}"
    ),
    "one-fragment-spread-twice": (
        "mutation { ...A ... on Mutation { ...A } } "
        f"fragment A on Mutation {{ {login_field(1, 'a')} }}"
    ),
    "login-and-change-password": (
        f"mutation {{ {login_field(1)} changePassword(input: "
        '{currentPassword: "x", newPassword: "y"}) { accessToken } }'
    ),
    "login-and-reset-password": (
        f'mutation {{ {login_field(1)} resetPassword(input: {{token: "t", newPassword: "y"}}) }}'
    ),
    "login-and-update-profile": (
        f"mutation {{ {login_field(1)} updateProfile(input: "
        '{username: "other", currentPassword: "x"}) { id } }'
    ),
    "login-and-verify-email": f'mutation {{ {login_field(1)} verifyEmail(token: "t") {{ id }} }}',
}


@pytest.fixture
async def one_failure_allowed(database: SqlDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """An app that refuses an account after a single failed sign-in."""
    settings = make_settings(database.url, rate_limit_login_account="1/15minutes")
    async with running_app(settings) as client:
        yield client


class TestOneCredentialCheckPerRequest:
    @pytest.mark.parametrize("document", SMUGGLED_LOGINS.values(), ids=SMUGGLED_LOGINS.keys())
    async def test_a_second_credential_check_is_refused_and_nothing_runs(
        self, one_failure_allowed: httpx.AsyncClient, database: SqlDatabase, document: str
    ) -> None:
        await register(one_failure_allowed, "target")

        body = await gql(one_failure_allowed, document)

        assert_refused_before_running(body, "ONE_CREDENTIAL_CHECK")
        assert "LOGIN_FAILED" not in event_kinds(database)
        # No guess was counted either: the one failure this account is allowed is still there.
        single = await gql(
            one_failure_allowed, LOGIN, {"input": {"username": "target", "password": "guess"}}
        )
        assert_error(single, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        again = await gql(
            one_failure_allowed,
            LOGIN,
            {"input": {"username": "target", "password": STRONG_PASSWORD}},
        )
        assert_error(again, "RATE_LIMITED")

    async def test_fifty_aliased_logins_are_also_over_the_alias_limit(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, SMUGGLED_LOGINS["fifty-aliases"])

        assert reasons(body) >= {"ONE_CREDENTIAL_CHECK", "TOO_MANY_ALIASES"}

    async def test_one_login_in_a_fragment_runs(self, client: httpx.AsyncClient) -> None:
        await register(client, "target")
        document = (
            "mutation { ...Creds } fragment Creds on Mutation { "
            f'login(input: {{username: "target", password: "{STRONG_PASSWORD}"}}) '
            "{ user { username } } }"
        )

        body = await gql(client, document)

        assert data_of(body, "login") == {"user": {"username": "target"}}

    async def test_one_login_beside_other_mutations_runs(self, client: httpx.AsyncClient) -> None:
        await register(client, "target")
        document = (
            f'mutation {{ login(input: {{username: "target", password: "{STRONG_PASSWORD}"}}) '
            '{ user { username } } logout(refreshToken: "nothing") }'
        )

        body = await gql(client, document)

        assert body == {"data": {"login": {"user": {"username": "target"}}, "logout": True}}


def nested(depth: int, field: str = "f") -> str:
    """A selection `depth` fields deep: f { f { ... { f } } }."""
    return " { ".join([field] * depth) + " }" * (depth - 1)


def deep_introspection(of_types: int) -> str:
    chain = "{ ofType " * of_types + "{ name }" + " }" * of_types
    return f'{{ __type(name: "User") {{ fields {{ type {chain} }} }} }}'


class TestDepth:
    async def test_an_ordinary_query_thirteen_levels_deep_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, "{ " + nested(13) + " }")

        assert "TOO_DEEP" in reasons(body)
        assert body.get("data") is None

    async def test_twelve_levels_are_within_the_depth_limit(
        self, client: httpx.AsyncClient
    ) -> None:
        """The fields do not exist, so it fails, but not for its depth."""
        body = await gql(client, "{ " + nested(12) + " }")

        assert body["errors"]
        assert "TOO_DEEP" not in reasons(body)

    async def test_the_depth_limit_follows_the_setting(self, database: SqlDatabase) -> None:
        async with running_app(make_settings(database.url, max_query_depth=2)) as client:
            body = await gql(client, "{ userDashboard { user { id } } }")

        assert "TOO_DEEP" in reasons(body)

    async def test_depth_hidden_in_fragments_is_counted(self, client: httpx.AsyncClient) -> None:
        document = (
            "{ ...A } fragment A on Query { " + nested(7).replace("{ f }", "{ ...B }", 1) + " } "
            "fragment B on Query { " + nested(7) + " }"
        )

        body = await gql(client, document)

        assert "TOO_DEEP" in reasons(body)

    async def test_deep_introspection_is_refused(self, client: httpx.AsyncClient) -> None:
        body = await gql(client, deep_introspection(20))

        assert_refused_before_running(body, "TOO_DEEP")

    async def test_the_standard_full_introspection_query_works_in_development(
        self, client: httpx.AsyncClient
    ) -> None:
        query = get_introspection_query(
            descriptions=True,
            specified_by_url=True,
            directive_is_repeatable=True,
            schema_description=True,
            input_value_deprecation=True,
        )

        body = await gql(client, query)

        assert not body.get("errors"), body
        names = {item["name"] for item in body["data"]["__schema"]["types"]}
        assert {"Query", "Mutation", "User", "AuthPayload"} <= names

    async def test_five_full_introspections_in_one_document_are_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        """Each can answer with the whole schema: one document must not ask for it many times."""
        document = (
            "{ " + " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(5)) + " }"
        )

        assert_refused_before_running(await gql(client, document), "TOO_COMPLEX")


class TestAliases:
    async def test_thirty_one_aliases_are_refused(self, client: httpx.AsyncClient) -> None:
        document = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"

        assert_refused_before_running(await gql(client, document), "TOO_MANY_ALIASES")

    async def test_thirty_aliases_are_allowed(self, client: httpx.AsyncClient) -> None:
        document = "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"

        body = await gql(client, document)

        assert body == {"data": {f"a{i}": "Query" for i in range(30)}}

    async def test_aliases_hidden_in_fragments_are_counted(self, client: httpx.AsyncClient) -> None:
        half = " ".join(f"a{i}: __typename" for i in range(16))
        other = " ".join(f"b{i}: __typename" for i in range(16))
        document = (
            f"{{ ...A ...B }} fragment A on Query {{ {half} }} fragment B on Query {{ {other} }}"
        )

        assert_refused_before_running(await gql(client, document), "TOO_MANY_ALIASES")


class TestTokens:
    async def test_a_document_with_too_many_tokens_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        """2000 tokens by default: well over what any real client operation needs."""
        document = "{ " + "__typename " * 2100 + "}"

        response = await client.post("/graphql", json={"query": document})

        assert response.status_code in {200, 400}
        body = response.json()
        assert body.get("data") is None
        assert "tokens" in body["errors"][0]["message"]

    async def test_a_refused_document_carries_an_error_code(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, "{ " + "__typename " * 2100 + "}")

        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"

    async def test_the_token_limit_follows_the_setting(self, database: SqlDatabase) -> None:
        def aliases(count: int) -> str:  # three tokens per alias
            return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"

        async with running_app(make_settings(database.url, max_query_tokens=40)) as client:
            within = await gql(client, aliases(10))
            over = await gql(client, aliases(14))

        assert within == {"data": {f"a{i}": "Query" for i in range(10)}}
        assert over.get("data") is None
        assert "tokens" in over["errors"][0]["message"]


class TestBatching:
    async def test_a_json_array_of_operations_is_refused_and_runs_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        register_one = (
            'mutation { register(input: {username: "batched%d", email: "b%d@example.com", '
            f'password: "{STRONG_PASSWORD}"}}) {{ accessToken }} }}'
        )
        batch = [{"query": register_one % (i, i)} for i in range(2)]

        response = await client.post("/graphql", json=batch)

        assert response.status_code == 400
        assert "accessToken" not in response.text
        assert database.count("users") == 0
