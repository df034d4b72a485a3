"""Values that do not fit their type are refused by naming the variable and the path, never by
echoing the value: a rejected input may carry a password (issue 11, item 10)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gql_auth.graphql.engine.redaction import without_values
from gql_auth.settings import Settings
from tests.support.helpers import (
    LOGIN,
    REGISTER,
    SECRET_KEY,
    SqlDatabase,
    assert_error,
    make_settings,
    post_graphql,
    running_app,
)

PASSWORD = "Vanilla-Otter-Secret-91"

# (document, variables, the message expected): one per kind of message graphql-core makes.
REFUSED_INPUTS: dict[str, tuple[str, dict[str, Any], str]] = {
    "unknown-field-in-input-object": (
        REGISTER,
        {"input": {"username": "u", "email": "u@example.com", "password": PASSWORD, "role": 1}},
        "Variable '$input' has invalid value: "
        "Expected value of type 'RegisterInput' not to include unknown field 'role'.",
    ),
    "required-field-missing": (
        REGISTER,
        {"input": {"username": "u", "password": PASSWORD}},
        "Variable '$input' has invalid value: "
        "Expected value of type 'RegisterInput' to include required field 'email'.",
    ),
    "wrong-type-in-nested-input": (
        LOGIN,
        {"input": {"username": "u", "password": [PASSWORD]}},
        "Variable '$input' has invalid value at .password: "
        "String cannot represent the value given.",
    ),
    "wrong-type-beside-the-password": (
        LOGIN,
        {"input": {"username": {"nested": 1}, "password": PASSWORD}},
        "Variable '$input' has invalid value at .username: "
        "String cannot represent the value given.",
    ),
    "not-an-object": (
        LOGIN,
        {"input": PASSWORD},
        "Variable '$input' has invalid value: Expected value of type 'LoginInput' to be an object.",
    ),
    "a-list-for-an-object": (
        LOGIN,
        {"input": [{"username": "u", "password": PASSWORD}]},
        "Variable '$input' has invalid value: Expected value of type 'LoginInput' to be an object.",
    ),
    "non-null-given-null": (
        LOGIN,
        {"input": None},
        "Variable '$input' has invalid value: "
        "Expected value of non-null type 'LoginInput!' not to be None.",
    ),
    "non-null-missing": (
        LOGIN,
        {},
        "Variable '$input' has invalid value: "
        "Expected a value of non-null type 'LoginInput!' to be provided.",
    ),
    "scalar-given-an-object": (
        "query User($id: ID!) { user(id: $id) { id } }",
        {"id": {"password": PASSWORD}},
        "Variable '$id' has invalid value: ID cannot represent the value given.",
    ),
}


def production_settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None, environment="production", secret_key=SECRET_KEY, database_url=database_url
    )


@pytest.fixture(params=["development", "production"])
async def app(request: pytest.FixtureRequest, database: SqlDatabase) -> AsyncIterator[Any]:
    settings = (
        make_settings(database.url)
        if request.param == "development"
        else production_settings(database.url)
    )
    async with running_app(settings) as client:
        yield client


class TestVariableErrors:
    @pytest.mark.parametrize(
        ("document", "variables", "message"), REFUSED_INPUTS.values(), ids=REFUSED_INPUTS.keys()
    )
    async def test_an_input_that_does_not_fit_names_variable_and_path_but_not_the_value(
        self,
        app: httpx.AsyncClient,
        database: SqlDatabase,
        document: str,
        variables: dict[str, Any],
        message: str,
    ) -> None:
        response = await post_graphql(app, document, variables)

        assert PASSWORD not in response.text
        error = assert_error(response.json(), "BAD_USER_INPUT")
        assert error["message"] == message
        assert database.count("users") == 0

    @pytest.mark.parametrize(
        "literal",
        [
            f'{{password: "{PASSWORD}"}}',
            f'{{username: "u", password: "{PASSWORD}", extra: 1}}',
            f'{{username: 1, password: "{PASSWORD}"}}',
            f'"{PASSWORD}"',
        ],
        ids=["missing-field", "unknown-field", "wrong-type", "not-an-object"],
    )
    async def test_an_inline_input_that_does_not_fit_is_refused_without_its_value(
        self, app: httpx.AsyncClient, literal: str
    ) -> None:
        """The document's own text is the client's; still, logs and proxies see error messages."""
        document = f"mutation {{ login(input: {literal}) {{ accessToken }} }}"

        response = await post_graphql(app, document)

        body = response.json()
        assert body.get("data") is None
        assert PASSWORD not in str(body["errors"])
        assert {error["extensions"]["code"] for error in body["errors"]} == {
            "GRAPHQL_VALIDATION_FAILED"
        }


class TestWithoutValues:
    """The message rewriting alone, on graphql-core's message formats."""

    @pytest.mark.parametrize(
        ("message", "expected"),
        [
            (
                "Variable '$input' has invalid value: Expected value of type 'LoginInput' not to "
                "include unknown field 'x'. Did you mean 'username'? Found: {'password': 'pw'}.",
                "Variable '$input' has invalid value: "
                "Expected value of type 'LoginInput' not to include unknown field 'x'.",
            ),
            (
                "Variable '$input' has invalid value at .tags[2]: "
                "Int cannot represent non-integer value: 'pw'",
                "Variable '$input' has invalid value at .tags[2]: "
                "Int cannot represent the value given.",
            ),
            (
                "Variable '$role' has invalid value: Value 'pw' does not exist in 'Role' enum.",
                "Variable '$role' has invalid value: "
                "The value given does not exist in 'Role' enum.",
            ),
            (
                "Variable '$input' has invalid default value: Expected value of type "
                "'LoginInput', but encountered error 'bad: pw'; found: {password: \"pw\"}.",
                "Variable '$input' has invalid default value: Expected value of type 'LoginInput'.",
            ),
            (
                "Variable '$input' got invalid value {'password': 'pw'}; Expected type 'String'.",
                "Variable '$input' has invalid value.",
            ),
            (
                "Variable '$input' has invalid value at .password: something new: pw",
                "Variable '$input' has invalid value at .password.",
            ),
            (
                "Expected value of type '[String!]!' to be an object, found: \"pw\".",
                "Expected value of type '[String!]!' to be an object.",
            ),
            (
                "Expected value of type 'LoginInput' not to include unknown field, found: {}.",
                "Expected value of type 'LoginInput' not to include unknown fields.",
            ),
        ],
    )
    def test_a_value_is_never_kept(self, message: str, expected: str) -> None:
        assert without_values(message) == expected
        assert "pw" not in expected

    @pytest.mark.parametrize(
        "message",
        [
            "Cannot query field 'nope' on type 'Query'.",
            "Unknown fragment 'Nope'.",
            "Variable '$x' of type 'Int' used in position expecting type 'String'.",
        ],
    )
    def test_messages_without_values_stay_as_they_are(self, message: str) -> None:
        assert without_values(message) == message
