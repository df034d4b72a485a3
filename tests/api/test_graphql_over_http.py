"""GraphQL over HTTP (issue 16): application/graphql-response+json gets the draft's statuses,
application/json (and no Accept) keeps the 200s Apollo-style clients rely on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.helpers import (
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    make_settings,
    register,
    register_input,
    running_app,
)
from tests.support.trusted_documents import ME, by_id, sha256, write_manifest

GRAPHQL_RESPONSE = "application/graphql-response+json"
GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json; charset=utf-8"
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"
LOGIN = "mutation L($input: LoginInput!) { login(input: $input) { accessToken } }"


async def post(client: httpx.AsyncClient, body: Any, accept: str | None) -> httpx.Response:
    headers = {"Accept": accept} if accept is not None else {}
    return await client.post("/graphql", json=body, headers=headers)


@pytest.fixture
async def trusted_client(database: SqlDatabase, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    manifest = write_manifest(tmp_path / "manifest.json", ME, REGISTER)
    settings = make_settings(
        database.url, trusted_documents_file=manifest, trusted_documents_only=True
    )
    async with running_app(settings) as client:
        yield client


# What a request error looks like under each media type: the draft's 4xx without `data`,
# or the legacy 200 with `data: null`.
REQUEST_ERRORS = {
    "parse": ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
    "validation": ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
    "depth-limit": (
        {"query": "{ " + "me { " * 20 + "id" + " }" * 20 + " }"},
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "operation-name": (
        {"query": "query A { __typename }", "operationName": "B"},
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "variables": ({"query": REGISTER, "variables": {"input": {"username": 5}}}, "BAD_USER_INPUT"),
}


class TestGraphQLResponseMediaType:
    @pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, APOLLO_ACCEPT])
    async def test_an_executed_operation_is_200_in_that_media_type(
        self, client: httpx.AsyncClient, accept: str
    ) -> None:
        response = await post(client, {"query": "{ __typename }"}, accept)

        assert response.status_code == 200
        assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_a_field_error_is_still_200_with_data_null(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await post(client, {"query": "{ me { id } }"}, GRAPHQL_RESPONSE)

        assert response.status_code == 200
        assert response.json()["data"] is None  # present: execution ran
        assert_error(response.json(), "UNAUTHENTICATED", path=["me"])

    async def test_a_refused_sign_in_is_200_it_was_executed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        payload = await register(client)
        wrong = {"username": payload["user"]["username"], "password": STRONG_PASSWORD + "x"}

        response = await post(
            client, {"query": LOGIN, "variables": {"input": wrong}}, GRAPHQL_RESPONSE
        )

        assert response.status_code == 200
        assert_error(response.json(), "UNAUTHENTICATED", path=["login"])

    async def test_a_mutation_runs_once(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = {"query": REGISTER, "variables": {"input": register_input()}}
        response = await post(client, body, GRAPHQL_RESPONSE)

        assert response.status_code == 200
        assert response.json()["data"]["register"]["accessToken"]
        assert database.count("users") == 1

    @pytest.mark.parametrize("case", REQUEST_ERRORS)
    async def test_a_request_error_is_400_without_data(
        self, client: httpx.AsyncClient, database: SqlDatabase, case: str
    ) -> None:
        body, code = REQUEST_ERRORS[case]
        response = await post(client, body, GRAPHQL_RESPONSE)

        assert response.status_code == 400
        assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
        assert "data" not in response.json()
        assert response.json()["errors"][0]["extensions"]["code"] == code
        assert database.count("users") == 0

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"query": "{ __typename }"}, "PERSISTED_QUERY_ID_REQUIRED"),
            ({"documentId": "sha256:" + "0" * 64}, "PERSISTED_QUERY_NOT_IN_LIST"),
        ],
        ids=["id-required", "not-in-list"],
    )
    async def test_a_trusted_document_refusal_is_400_without_data(
        self, trusted_client: httpx.AsyncClient, body: dict[str, Any], code: str
    ) -> None:
        response = await post(trusted_client, body, APOLLO_ACCEPT)

        assert response.status_code == 400
        assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
        assert response.json() == {"errors": [response.json()["errors"][0]]}
        assert_error(response.json(), code)

    async def test_a_trusted_document_runs_200(self, trusted_client: httpx.AsyncClient) -> None:
        payload = await by_id(trusted_client, REGISTER, {"input": register_input()})
        token = payload.json()["data"]["register"]["accessToken"]
        response = await trusted_client.post(
            "/graphql",
            json={"documentId": f"sha256:{sha256(ME)}"},
            headers={"Accept": GRAPHQL_RESPONSE, "Authorization": f"Bearer {token}"},
        )

        assert response.status_code == 200
        assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
        assert response.json()["data"]["me"]["id"]

    async def test_a_malformed_id_is_400_in_that_media_type(
        self, trusted_client: httpx.AsyncClient
    ) -> None:
        response = await post(trusted_client, {"documentId": 12}, GRAPHQL_RESPONSE)

        assert response.status_code == 400
        assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
        assert_error(response.json(), "BAD_USER_INPUT", reason="INVALID_DOCUMENT_ID")


class TestJsonMediaType:
    """application/json, `*/*` or no Accept: every well-formed request answers 200, as before."""

    @pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
    @pytest.mark.parametrize("case", REQUEST_ERRORS)
    async def test_a_request_error_is_200_with_data_null(
        self, client: httpx.AsyncClient, accept: str | None, case: str
    ) -> None:
        body, code = REQUEST_ERRORS[case]
        response = await post(client, body, accept)

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["data"] is None
        assert response.json()["errors"][0]["extensions"]["code"] == code

    async def test_a_trusted_document_refusal_is_200(
        self, trusted_client: httpx.AsyncClient
    ) -> None:
        response = await post(trusted_client, {"query": "{ __typename }"}, "application/json")

        assert response.status_code == 200
        assert response.json()["data"] is None
        assert_error(response.json(), "PERSISTED_QUERY_ID_REQUIRED")


class TestTransportRefusals:
    """RequestGuard's refusals keep their status and answer in the negotiated media type."""

    @pytest.mark.parametrize(
        ("accept", "content_type"),
        [(GRAPHQL_RESPONSE, GRAPHQL_RESPONSE_TYPE), ("application/json", "application/json")],
        ids=["graphql-response", "json"],
    )
    async def test_refusals_keep_their_status(
        self, client: httpx.AsyncClient, accept: str, content_type: str
    ) -> None:
        headers = {"Accept": accept}
        too_large = await client.post(
            "/graphql", json={"query": "{ __typename }", "pad": "x" * 70_000}, headers=headers
        )
        form = await client.post("/graphql", data={"query": "{ __typename }"}, headers=headers)
        not_json = await client.post(
            "/graphql",
            content=b"{",
            headers={**headers, "Content-Type": "application/json"},
        )

        for response, status, reason in (
            (too_large, 413, "PAYLOAD_TOO_LARGE"),
            (form, 415, "UNSUPPORTED_MEDIA_TYPE"),
            (not_json, 400, "INVALID_JSON"),
        ):
            assert response.status_code == status
            assert response.headers["content-type"] == content_type
            assert "data" not in response.json()
            assert_error(response.json(), "BAD_USER_INPUT", reason=reason)

    @pytest.mark.parametrize("accept", ["text/html", "application/json;q=0", "image/png"])
    async def test_a_post_accepting_neither_media_type_is_406_and_runs_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase, accept: str
    ) -> None:
        body = {"query": REGISTER, "variables": {"input": register_input()}}
        response = await post(client, body, accept)

        assert response.status_code == 406
        assert_error(response.json(), "BAD_USER_INPUT", reason="NOT_ACCEPTABLE")
        assert database.count("users") == 0

    async def test_get_for_a_browser_is_unaffected(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/graphql", headers={"Accept": "text/html"})

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
