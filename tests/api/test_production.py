"""Production mode: no IDE, no introspection, no suggestions, masked errors. That nothing
internal leaks whatever the input is checked on every backend in tests/db/test_production.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pydantic
import pytest

from gql_auth.settings import Settings
from tests.support.helpers import (
    UNREACHABLE_DATABASE_URLS,
    assert_error,
    assert_no_leak,
    make_settings,
    post_graphql,
    running_app,
)
from tests.support.production import production_settings


@pytest.fixture
async def bare_production(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A production app for checks that are refused before any database work."""
    async with running_app(production_settings(f"sqlite:///{tmp_path / 'unused.db'}")) as client:
        yield client


class TestNoIde:
    async def test_get_graphql_for_a_browser_is_404_without_an_ide(
        self, bare_production: httpx.AsyncClient
    ) -> None:
        response = await bare_production.get("/graphql", headers={"Accept": "text/html"})

        assert response.status_code == 404
        assert "graphiql" not in response.text.lower()
        assert "<html" not in response.text.lower()


class TestNoIntrospection:
    @pytest.mark.parametrize(
        "query",
        [
            "{ __schema { queryType { name } } }",
            '{ __type(name: "User") { fields { name } } }',
            "{ ...F } fragment F on Query { __schema { types { name } } }",
            '{ me { id } t: __type(name: "Mutation") { name } }',
        ],
        ids=["schema", "type", "in-fragment", "beside-a-field"],
    )
    async def test_introspection_is_refused(
        self, bare_production: httpx.AsyncClient, query: str
    ) -> None:
        response = await post_graphql(bare_production, query)

        body = response.json()
        assert body.get("data") is None
        assert body["errors"]

    async def test_typename_still_works(self, bare_production: httpx.AsyncClient) -> None:
        response = await post_graphql(bare_production, "{ __typename }")

        assert response.json() == {"data": {"__typename": "Query"}}


SUGGESTIONS = {
    "field": "{ mee { id } }",
    "nested-field": "query U($id: ID!) { user(id: $id) { usernme } }",
    "argument": '{ user(idd: "1") { id } }',
    "enum-value": "{ users(role: ADMN) { totalCount } }",
    "input-field": 'mutation { login(input: {usernme: "a", password: "b"}) { accessToken } }',
}


class TestNoSuggestions:
    @pytest.mark.parametrize(
        "query",
        [pytest.param(query, id=name) for name, query in SUGGESTIONS.items()],
    )
    async def test_errors_suggest_no_names(
        self, bare_production: httpx.AsyncClient, query: str
    ) -> None:
        response = await post_graphql(bare_production, query, {"id": "1"})

        assert response.json()["errors"]
        assert "Did you mean" not in response.text

    async def test_development_does_suggest(self, tmp_path: Path) -> None:
        """The contrast that shows the production check can fail."""
        async with running_app(make_settings(f"sqlite:///{tmp_path / 'unused.db'}")) as client:
            response = await post_graphql(client, SUGGESTIONS["field"])

        assert "Did you mean" in response.text


class TestMaskedErrors:
    @pytest.mark.parametrize(
        "database_url", UNREACHABLE_DATABASE_URLS.values(), ids=UNREACHABLE_DATABASE_URLS.keys()
    )
    async def test_an_outage_is_internal_server_error_with_a_request_id_only(
        self, database_url: str
    ) -> None:
        async with running_app(production_settings(database_url)) as client:
            response = await post_graphql(
                client, "query U($id: ID!) { user(id: $id) { id } }", {"id": "1"}
            )

        error = assert_error(response.json(), "INTERNAL_SERVER_ERROR")
        assert error["message"] == "Internal server error."
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        assert_no_leak(response)
        assert "127.0.0.1" not in response.text
        assert "nonexistent" not in response.text


class TestSettings:
    def test_production_without_a_secret_key_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(pydantic.ValidationError, match="SECRET_KEY"):
            Settings(
                _env_file=None,
                environment="production",
                database_url=f"sqlite:///{tmp_path / 'x.db'}",
                secret_key_file=tmp_path / "secret",
            )
        assert not (tmp_path / "secret").exists()

    def test_production_with_a_short_secret_key_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(pydantic.ValidationError):
            production_settings(f"sqlite:///{tmp_path / 'x.db'}", secret_key="too-short")
