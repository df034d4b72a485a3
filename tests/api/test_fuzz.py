"""Property-based fuzzing of the live app: operations generated from the schema itself, with
hostile arguments and variables, fragments (defined, unknown and cyclic spreads) and
directives. Whatever arrives: never a 500, never an unexpected error, never an internal
detail in the response, every error in the contract's shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    ast_from_value,
    get_named_type,
    print_ast,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gql_auth.graphql.engine.errors import CLIENT_CODES
from gql_auth.graphql.schema import build_schema
from tests.support.helpers import SqlDatabase, assert_no_leak, register, register_admin

SCHEMA = build_schema()._schema
ROOTS = {"query": SCHEMA.query_type, "mutation": SCHEMA.mutation_type}

SPECIAL_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate, sent as a JSON escape
    "'; DROP TABLE users; --",
    "%_%\\",
    '"}{',
    "\u202e\U0001f511" * 10,
    "admin",
    "ADMIN",
    "1",
    "-1",
    "0",
    "9" * 30,
    "9" * 10_000,
    "x" * 10_000,
    "x" * 70_000,  # over the body cap
    "user@example.com",
    "eyJhbGciOiJub25lIn0.e30.",
    "MQ==",
]
INT_EDGES = [0, -1, 1, 100, 101, -(2**31), 2**31 - 1, 2**31, -(2**31) - 1, 10**15]
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(SPECIAL_STRINGS))
INTS = st.one_of(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.sampled_from(INT_EDGES))
# A value of the wrong type, for variables that claim another.
WILD = st.one_of(
    TEXT,
    INTS,
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(TEXT, max_size=2),
    st.dictionaries(TEXT, TEXT, max_size=2),
)


def value_of(type_: GraphQLInputType) -> st.SearchStrategy[Any]:
    """Values that mostly fit the type, sometimes a little beyond it."""
    if isinstance(type_, GraphQLNonNull):
        return value_of(type_.of_type)
    if isinstance(type_, GraphQLList):
        return st.lists(value_of(type_.of_type), max_size=3)
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from([*type_.values, "NOT_A_VALUE", "admin"])
    if isinstance(type_, GraphQLInputObjectType):
        required = {n: value_of(f.type) for n, f in type_.fields.items() if is_required(f.type)}
        optional = {n: value_of(f.type) for n, f in type_.fields.items() if n not in required}
        return st.fixed_dictionaries(required, optional=optional)
    assert isinstance(type_, GraphQLScalarType)
    scalars: dict[str, st.SearchStrategy[Any]] = {
        "Int": INTS,
        "Boolean": st.booleans(),
        "Float": st.floats(allow_nan=False, allow_infinity=False),
    }
    return scalars.get(type_.name, TEXT)


def is_required(type_: Any) -> bool:
    return isinstance(type_, GraphQLNonNull)


@dataclass
class Operation:
    document: str
    variables: dict[str, Any]


class Builder:
    """Turns hypothesis draws into one operation, declaring a variable per argument."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.declarations: list[str] = []
        self.variables: dict[str, Any] = {}
        self.fields = 0

    def arguments(self, arguments: dict[str, GraphQLArgument]) -> str:
        parts = []
        for name, argument in arguments.items():
            if not is_required(argument.type) and self.draw(st.booleans()):
                continue  # leave the optional argument out
            parts.append(f"{name}: {self.argument_value(argument.type)}")
        return f"({', '.join(parts)})" if parts else ""

    def argument_value(self, type_: GraphQLInputType) -> str:
        style = self.draw(st.sampled_from(["variable", "variable", "wrong-variable", "inline"]))
        if style == "inline":
            try:
                literal = ast_from_value(self.draw(value_of(type_)), type_)
            except GraphQLError:  # e.g. an Int beyond 32 bits has no literal: use a variable
                literal = None
            if literal is not None:
                return print_ast(literal)
        variable = f"v{len(self.declarations)}"
        self.declarations.append(f"${variable}: {type_}")
        wrong = style == "wrong-variable"
        self.variables[variable] = self.draw(WILD if wrong else value_of(type_))
        return f"${variable}"

    def selection(self, type_: GraphQLOutputType, depth: int) -> str:
        named = get_named_type(type_)
        if not isinstance(named, GraphQLObjectType):
            return ""
        if depth >= 3:
            return "{ __typename }"
        names = self.draw(
            st.lists(st.sampled_from(sorted(named.fields)), min_size=1, max_size=4, unique=True)
        )
        return "{ " + " ".join(self.field(name, named.fields[name], depth) for name in names) + " }"

    def field(self, name: str, field: GraphQLField, depth: int) -> str:
        self.fields += 1
        alias = f"a{self.fields}: " if self.draw(st.integers(0, 9)) == 0 else ""
        arguments = self.arguments(field.args)
        return f"{alias}{name}{arguments} {self.selection(field.type, depth + 1)}"

    def operation(self, kind: str, fields: list[str]) -> Operation:
        root = ROOTS[kind]
        assert root is not None
        body = " ".join(self.field(name, root.fields[name], 0) for name in fields)
        declared = f"({', '.join(self.declarations)})" if self.declarations else ""
        return Operation(f"{kind} Fuzz{declared} {{ {body} }}", self.variables)


@st.composite
def operations(draw: Any) -> Operation:
    if draw(st.integers(0, 19)) == 0:  # now and then, not GraphQL at all
        return Operation(
            draw(st.one_of(TEXT, st.text(alphabet='{}()[]:$@!." \n', max_size=60))), {}
        )
    kind = draw(st.sampled_from(sorted(ROOTS)))
    root = ROOTS[kind]
    assert root is not None
    fields = draw(
        st.lists(st.sampled_from(sorted(root.fields)), min_size=1, max_size=2, unique=True)
    )
    return Builder(draw).operation(kind, fields)


@dataclass
class Tokens:
    user: str
    admin: str


@pytest.fixture
async def tokens(client: httpx.AsyncClient, database: SqlDatabase) -> AsyncIterator[Tokens]:
    """A user and an admin, so guarded resolvers run too (until the fuzz revokes them)."""
    user = await register(client)
    admin = await register_admin(client, database)
    yield Tokens(user["accessToken"], admin["accessToken"])


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written to the checkout; a failure prints its reproduction blob
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operation=operations(), caller=st.sampled_from(["anonymous", "user", "admin", "forged"]))
async def test_generated_operations_never_break_or_leak(
    client: httpx.AsyncClient, tokens: Tokens, operation: Operation, caller: str
) -> None:
    headers = {"Content-Type": "application/json"}
    bearer = {"user": tokens.user, "admin": tokens.admin, "forged": "x.y.z"}.get(caller)
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    sent = json.dumps({"query": operation.document, "variables": operation.variables})

    response = await client.post("/graphql", content=sent, headers=headers)

    assert_no_leak(response, sent=sent)
    assert response.status_code < 500, response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        assert "INTERNAL_SERVER_ERROR" not in response.text, (operation, response.text[:2000])


# --- fragments, unknown and cyclic spreads, directives (issue 11, item 1) ------------------

FRAGMENT_NAMES = [f"F{i}" for i in range(4)]
UNKNOWN_FRAGMENTS = ["Nope", "F9"]
TYPE_CONDITIONS = ["Query", "Mutation", "User", "AuthPayload", "__Type", "Nope", "String"]
DIRECTIVES = [
    "@include(if: true)",
    "@skip(if: false)",
    "@skip(if: true)",
    "@include(if: $flag)",
    "@skip(if: $flag) @include(if: $flag)",
    "@skip(if: false) @skip(if: false)",  # not repeatable
    "@include",  # required argument missing
    '@include(if: "yes")',
    "@deprecated",  # wrong location
    "@nope",
    "@oneOf",
]
# What a client may see in extensions.code: the contract's codes and the GraphQL-level ones.
CONTRACT_CODES = CLIENT_CODES | {"PERSISTED_QUERY_NOT_IN_LIST", "PERSISTED_QUERY_ID_REQUIRED"}


class FragmentBuilder(Builder):
    """Operations whose selections also spread fragments (defined, unknown, cyclic), use inline
    fragments and carry directives."""

    def __init__(self, draw: Any) -> None:
        super().__init__(draw)
        self.uses_flag = False

    def selection(self, type_: GraphQLOutputType, depth: int) -> str:
        plain = super().selection(type_, depth)
        if not plain or depth >= 3:
            return plain
        count = self.draw(st.integers(0, 3))
        additions = [self.addition(type_, depth) for _ in range(count)]
        return plain[:-1] + " ".join(additions) + " }"

    def addition(self, type_: GraphQLOutputType, depth: int) -> str:
        """A spread, an inline fragment or a field with directives, beside the fields."""
        kind = self.draw(st.sampled_from(["spread", "field", "inline", "typed-inline"]))
        if kind == "spread":
            name = self.draw(st.sampled_from(FRAGMENT_NAMES + UNKNOWN_FRAGMENTS))
            return f"...{name} {self.directives()}"
        if kind == "field":
            return f"__typename {self.directives()}"
        if kind == "inline":
            return f"... {self.directives()} {{ __typename }}"
        return f"... on {get_named_type(type_).name} {self.selection(type_, depth + 1)}"

    def directives(self) -> str:
        directives = " ".join(self.draw(st.lists(st.sampled_from(DIRECTIVES), max_size=2)))
        self.uses_flag = self.uses_flag or "$flag" in directives
        return directives

    def fragment(self, name: str) -> str:
        condition = self.draw(st.sampled_from(TYPE_CONDITIONS))
        type_ = SCHEMA.get_type(condition)
        if not isinstance(type_, GraphQLObjectType):
            type_ = SCHEMA.query_type
        assert type_ is not None
        return f"fragment {name} on {condition} {self.selection(type_, 1)}"

    def operation(self, kind: str, fields: list[str]) -> Operation:
        root = ROOTS[kind]
        assert root is not None
        body = " ".join(self.field(name, root.fields[name], 0) for name in fields)
        defined = self.draw(st.lists(st.sampled_from(FRAGMENT_NAMES), unique=True, max_size=4))
        # Built before the declarations: fragments declare variables for their arguments too.
        fragments = " ".join(self.fragment(name) for name in defined)
        if self.uses_flag:
            self.declarations.append("$flag: Boolean!")
            self.variables["flag"] = self.draw(st.one_of(st.booleans(), WILD))
        declared = f"({', '.join(self.declarations)})" if self.declarations else ""
        return Operation(f"{kind} Fuzz{declared} {{ {body} }} {fragments}", self.variables)


@st.composite
def fragment_operations(draw: Any) -> Operation:
    kind = draw(st.sampled_from(sorted(ROOTS)))
    root = ROOTS[kind]
    assert root is not None
    fields = draw(
        st.lists(st.sampled_from(sorted(root.fields)), min_size=1, max_size=2, unique=True)
    )
    return FragmentBuilder(draw).operation(kind, fields)


def assert_contract_error_shape(body: dict[str, Any]) -> None:
    """Each error: a message, extensions.code from the contract, a machine word as reason."""
    assert isinstance(body, dict), body
    for error in body.get("errors") or []:
        assert isinstance(error.get("message"), str) and error["message"], error
        extensions = error.get("extensions") or {}
        assert extensions.get("code") in CONTRACT_CODES, error
        reason = extensions.get("reason")
        assert reason is None or (isinstance(reason, str) and reason.isupper()), error


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operation=fragment_operations(), caller=st.sampled_from(["anonymous", "user", "admin"]))
async def test_generated_fragments_spreads_and_directives_answer_in_the_contracts_shape(
    client: httpx.AsyncClient, tokens: Tokens, operation: Operation, caller: str
) -> None:
    headers = {"Content-Type": "application/json"}
    bearer = {"user": tokens.user, "admin": tokens.admin}.get(caller)
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    sent = json.dumps({"query": operation.document, "variables": operation.variables})

    response = await client.post("/graphql", content=sent, headers=headers)

    assert_no_leak(response, sent=sent)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert "INTERNAL_SERVER_ERROR" not in response.text, (operation, response.text[:2000])
    assert_contract_error_shape(body)
    assert body.get("errors") or body.get("data") is not None, body
