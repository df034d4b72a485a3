"""A request runs exactly the operation it names; anything else is refused before it runs."""

from __future__ import annotations

import httpx
import pytest
from graphql import parse

from gql_auth.graphql.engine.operation_choice import operation_refusal
from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    assert_no_leak,
    data_of,
    event_kinds,
    register,
)

TWO_QUERIES = "query A { first: __typename } query B { second: __typename }"
QUERY_AND_LOGOUT = (
    "query Harmless { __typename } "
    "mutation Hidden($token: String!) { logout(refreshToken: $token) }"
)


async def post(client: httpx.AsyncClient, body: dict[str, object]) -> httpx.Response:
    return await client.post("/graphql", json=body)


class TestChoosingTheOperation:
    async def test_several_operations_without_a_name_are_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await post(client, {"query": TWO_QUERIES})

        assert response.status_code == 200
        body = response.json()
        assert_error(body, "GRAPHQL_VALIDATION_FAILED", reason="OPERATION_NAME_REQUIRED")
        assert body["data"] is None

    async def test_the_named_operation_runs_not_the_first(self, client: httpx.AsyncClient) -> None:
        response = await post(client, {"query": TWO_QUERIES, "operationName": "B"})

        assert data_of(response.json(), "second") == "Query"
        assert "first" not in response.json()["data"]

    async def test_an_unknown_operation_name_gets_the_contract_shape_not_plain_text(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await post(client, {"query": TWO_QUERIES, "operationName": "Secret<script>"})

        assert response.headers["content-type"].startswith("application/json")
        assert_error(response.json(), "GRAPHQL_VALIDATION_FAILED", reason="UNKNOWN_OPERATION")
        assert "Secret" not in response.text  # the client's text is not echoed
        assert_no_leak(response)

    async def test_a_document_of_fragments_only_gets_the_contract_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await post(client, {"query": "fragment F on Query { __typename }"})

        assert response.headers["content-type"].startswith("application/json")
        assert_error(response.json(), "GRAPHQL_VALIDATION_FAILED", reason="NO_OPERATION")

    async def test_a_mutation_behind_a_query_does_not_run_unnamed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        variables = {"token": payload["refreshToken"]}

        refused = await post(client, {"query": QUERY_AND_LOGOUT, "variables": variables})
        assert_error(refused.json(), "GRAPHQL_VALIDATION_FAILED", reason="OPERATION_NAME_REQUIRED")
        assert "LOGGED_OUT" not in event_kinds(database, payload["user"]["id"])

        named: dict[str, object] = {
            "query": QUERY_AND_LOGOUT,
            "variables": variables,
            "operationName": "Hidden",
        }
        assert data_of((await post(client, named)).json(), "logout") is True
        assert "LOGGED_OUT" in event_kinds(database, payload["user"]["id"])


@pytest.mark.parametrize(
    ("document", "name", "reason"),
    [
        ("{ __typename }", None, None),
        ("query A { __typename }", "A", None),
        ("query A { __typename }", None, None),
        ("query A { __typename }", "B", "UNKNOWN_OPERATION"),
        ("{ __typename }", "A", "UNKNOWN_OPERATION"),
        (TWO_QUERIES, None, "OPERATION_NAME_REQUIRED"),
        (TWO_QUERIES, "A", None),
        ("fragment F on Query { __typename }", None, "NO_OPERATION"),
    ],
)
def test_operation_refusal(document: str, name: str | None, reason: str | None) -> None:
    refused = operation_refusal(parse(document), name)

    actual = (refused.extensions or {}).get("reason") if refused is not None else None
    assert actual == reason
