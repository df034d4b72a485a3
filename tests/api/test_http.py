"""HTTP surface: /healthz, request ids, GraphiQL and the masking of unexpected errors."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.helpers import (
    PUBLIC_USER,
    SECRET_KEY,
    UNREACHABLE_DATABASE_URLS,
    assert_error,
    gql,
    make_settings,
    post_graphql,
    register,
    running_app,
)

REQUEST_ID = re.compile(r"[0-9a-f]{32}")
LEAKS = (
    "Traceback",
    "sqlalchemy",
    "pymysql",
    "aiomysql",
    "asyncmy",
    "aiosqlite",
    "SELECT",
    'File "',
)

unreachable = pytest.mark.parametrize(
    "database_url", UNREACHABLE_DATABASE_URLS.values(), ids=UNREACHABLE_DATABASE_URLS.keys()
)


class TestHealth:
    async def test_health_is_ok_when_the_database_answers(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    @unreachable
    async def test_health_is_503_when_the_database_does_not_answer(self, database_url: str) -> None:
        async with running_app(make_settings(database_url)) as client:
            response = await client.get("/healthz")

        assert response.status_code == 503
        assert response.json()["status"] != "ok"
        assert not any(leak in response.text for leak in LEAKS), response.text


class TestRequestId:
    async def test_every_response_carries_a_generated_request_id(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await client.get("/healthz")
        second = await post_graphql(client, "{ __typename }")

        assert REQUEST_ID.fullmatch(first.headers["x-request-id"])
        assert REQUEST_ID.fullmatch(second.headers["x-request-id"])
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    async def test_a_request_id_sent_by_the_client_is_not_echoed(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/healthz", headers={"X-Request-ID": "forged-id"})

        assert "forged-id" not in response.headers.get_list("x-request-id")
        assert REQUEST_ID.fullmatch(response.headers["x-request-id"])


class TestUnexpectedErrors:
    @unreachable
    async def test_database_outage_is_masked_as_internal_server_error_with_request_id(
        self, database_url: str
    ) -> None:
        async with running_app(make_settings(database_url)) as client:
            response = await post_graphql(client, PUBLIC_USER, {"id": "1"})

        body = response.json()
        error = assert_error(body, "INTERNAL_SERVER_ERROR")
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        assert error["message"] == "Internal server error."
        assert not any(leak in response.text for leak in LEAKS), response.text

    @unreachable
    async def test_a_failed_registration_during_an_outage_leaks_nothing(
        self, database_url: str
    ) -> None:
        async with running_app(make_settings(database_url)) as client:
            response = await post_graphql(
                client,
                'mutation { register(input: {username: "ann", email: "ann@example.com", '
                'password: "Quokka-Harbour-Lantern-42"}) { accessToken } }',
            )

        assert_error(response.json(), "INTERNAL_SERVER_ERROR")
        assert response.json().get("data") is None
        assert "Quokka-Harbour-Lantern-42" not in response.text
        assert not any(leak in response.text for leak in LEAKS), response.text


class TestEnvironment:
    async def test_graphiql_is_served_in_development(self, tmp_path: Path) -> None:
        async with running_app(make_settings(f"sqlite:///{tmp_path / 'x.db'}")) as client:
            response = await client.get("/graphql", headers={"Accept": "text/html"})

        assert response.status_code == 200
        assert "graphiql" in response.text.lower()

    @pytest.fixture
    def production(self, tmp_path: Path) -> Settings:
        return Settings(
            _env_file=None,
            environment="production",
            secret_key=SECRET_KEY,
            database_url=f"sqlite:///{tmp_path / 'x.db'}",
        )

    async def test_graphiql_is_off_in_production(self, production: Settings) -> None:
        async with running_app(production) as client:
            response = await client.get("/graphql", headers={"Accept": "text/html"})

        assert "graphiql" not in response.text.lower()
        assert response.status_code >= 400

    async def test_introspection_is_off_in_production(self, production: Settings) -> None:
        async with running_app(production) as client:
            body = await gql(client, "{ __schema { queryType { name } } }")

        assert body.get("data") is None
        assert body["errors"]

    async def test_introspection_works_in_development(self, client: httpx.AsyncClient) -> None:
        body = await gql(client, "{ __schema { queryType { name } } }")

        assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


class TestPublicAccess:
    async def test_anyone_can_read_a_public_profile(self, client: httpx.AsyncClient) -> None:
        payload = await register(client, "Pubby")

        body = await gql(client, PUBLIC_USER, {"id": payload["user"]["id"]})

        assert body.get("errors") is None
        user = body["data"]["user"]
        assert user["id"] == payload["user"]["id"]
        assert user["username"] == "Pubby"
        assert user["role"] == "USER"
        assert user["isActive"] is True
