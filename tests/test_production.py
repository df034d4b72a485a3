"""Production mode: no IDE, no introspection, no suggestions, masked errors, and nothing internal
in any response, whatever the input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from gql_auth.settings import Settings
from tests.conftest import Backend
from tests.helpers import (
    SECRET_KEY,
    UNREACHABLE_DATABASE_URLS,
    SqlDatabase,
    assert_error,
    assert_no_leak,
    make_settings,
    post_graphql,
    register,
    register_admin,
    running_app,
)


def production_settings(database_url: str, **overrides: Any) -> Settings:
    """Production as an operator would run it: explicit secret, default (real) argon2 cost."""
    values = {"secret_key": SECRET_KEY, "database_url": database_url, **overrides}
    return Settings(_env_file=None, environment="production", **values)


@dataclass
class Callers:
    client: httpx.AsyncClient
    user_token: str
    admin_token: str
    user_id: str


@pytest.fixture
async def production(database: SqlDatabase) -> AsyncIterator[Callers]:
    """A production app, with a user and an admin signed up beforehand (cheaply, in development)."""
    async with running_app(make_settings(database.url)) as development:
        user = await register(development)
        admin = await register_admin(development, database)
    async with running_app(production_settings(database.url)) as client:
        yield Callers(client, user["accessToken"], admin["accessToken"], user["user"]["id"])


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


# --- leak checks -------------------------------------------------------------------------

HUGE_ID = "9" * 10_000
NUL = "a\x00b"
OVERSIZED = "y" * 60_000
LONE_SURROGATE = "\ud800x"
USER = "query U($id: ID!) { user(id: $id) { id username } }"
USERS = (
    "query Users($first: Int!, $after: String, $search: String) "
    "{ users(first: $first, after: $after, search: $search) "
    "{ totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"
)
REGISTER = (
    "mutation R($u: String!, $e: String!, $p: String!) "
    "{ register(input: {username: $u, email: $e, password: $p}) { accessToken } }"
)
LOGIN = (
    "mutation L($u: String!, $p: String!) "
    "{ login(input: {username: $u, password: $p}) { accessToken } }"
)


def register_with(**changes: str) -> dict[str, str]:
    return {"u": "leaky", "e": "leaky@example.com", "p": "Quokka-Harbour-Lantern-42", **changes}


# (query, variables, who asks): anything a client can send, none of it may break or leak.
LEAK_CASES: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "user-10000-char-id": (USER, {"id": HUGE_ID}, None),
    "user-nul-id": (USER, {"id": "1\x00"}, None),
    "user-negative-id": (USER, {"id": "-1"}, None),
    "user-surrogate-id": (USER, {"id": LONE_SURROGATE}, None),
    "users-negative-first": (USERS, {"first": -1}, "admin"),
    "users-huge-first": (USERS, {"first": 2_147_483_647}, "admin"),
    "users-bogus-cursor": (USERS, {"first": 5, "after": "bogus-cursor!"}, "admin"),
    "users-base64-garbage-cursor": (USERS, {"first": 5, "after": "eyJpZCI6ICJ4In0="}, "admin"),
    "users-10000-char-cursor": (USERS, {"first": 5, "after": "A" * 10_000}, "admin"),
    "users-nul-cursor": (USERS, {"first": 5, "after": "\x00" * 8}, "admin"),
    "users-sql-search": (USERS, {"first": 5, "search": "%_\\' OR 1=1; --"}, "admin"),
    "users-nul-search": (USERS, {"first": 5, "search": NUL}, "admin"),
    "users-oversized-search": (USERS, {"first": 5, "search": OVERSIZED}, "admin"),
    "users-as-a-user": (USERS, {"first": -1}, "user"),
    "events-negative-limit": (
        "{ userDashboard { recentEvents(limit: -1) { kind } } }",
        {},
        "user",
    ),
    "signups-negative-limit": (
        "{ adminDashboard { recentSignups(limit: -5) { id } } }",
        {},
        "admin",
    ),
    "set-role-10000-char-id": (
        "mutation S($id: ID!) { setUserRole(userId: $id, role: ADMIN) { id } }",
        {"id": HUGE_ID},
        "admin",
    ),
    "set-active-nul-id": (
        "mutation S($id: ID!) { setUserActive(userId: $id, active: false) { id } }",
        {"id": "\x00"},
        "admin",
    ),
    "register-nul-username": (REGISTER, register_with(u=NUL), None),
    "register-nul-email": (REGISTER, register_with(e="a\x00@example.com"), None),
    "register-nul-password": (REGISTER, register_with(p="Quokka-Harbour\x00-Lantern-42"), None),
    "register-oversized-username": (REGISTER, register_with(u=OVERSIZED), None),
    "register-oversized-email": (REGISTER, register_with(e=OVERSIZED + "@example.com"), None),
    "register-oversized-password": (REGISTER, register_with(p=OVERSIZED), None),
    "register-surrogate-username": (REGISTER, register_with(u=LONE_SURROGATE), None),
    "login-nul": (LOGIN, {"u": NUL, "p": NUL}, None),
    "login-oversized": (LOGIN, {"u": OVERSIZED[:30_000], "p": OVERSIZED[:30_000]}, None),
    "login-surrogate": (LOGIN, {"u": LONE_SURROGATE, "p": LONE_SURROGATE}, None),
    "refresh-10000-chars": (
        "mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
        {"t": "r" * 10_000},
        None,
    ),
    "logout-nul": ("mutation L($t: String!) { logout(refreshToken: $t) }", {"t": NUL}, None),
    "change-password-oversized": (
        "mutation C($c: String!, $n: String!) "
        "{ changePassword(input: {currentPassword: $c, newPassword: $n}) { accessToken } }",
        {"c": OVERSIZED[:30_000], "n": OVERSIZED[:30_000]},
        "user",
    ),
    "update-profile-nul": (
        "mutation P($u: String, $e: String) "
        "{ updateProfile(input: {username: $u, email: $e}) { id } }",
        {"u": NUL, "e": "x\x00@example.com"},
        "user",
    ),
    "update-profile-oversized": (
        "mutation P($u: String) { updateProfile(input: {username: $u}) { id } }",
        {"u": OVERSIZED},
        "user",
    ),
    "request-reset-nul": (
        "mutation Q($e: String!) { requestPasswordReset(email: $e) }",
        {"e": "a\x00@example.com"},
        None,
    ),
    "request-reset-oversized": (
        "mutation Q($e: String!) { requestPasswordReset(email: $e) }",
        {"e": OVERSIZED},
        None,
    ),
    "reset-password-garbage": (
        "mutation Q($t: String!, $n: String!) "
        "{ resetPassword(input: {token: $t, newPassword: $n}) }",
        {"t": "t" * 10_000, "n": NUL},
        None,
    ),
    "verify-email-nul": (
        "mutation V($t: String!) { verifyEmail(token: $t) { id } }",
        {"t": "\x00" * 43},
        None,
    ),
    "int-overflow": (USERS, {"first": 2**40}, "admin"),
    # A refusal beside another field of the same non-null parent (found by tests/test_fuzz.py).
    "bad-limit-beside-sessions": (
        "{ userDashboard { activeSessions { id } recentEvents(limit: 0) { kind } } }",
        {},
        "user",
    ),
    "forbidden-beside-dashboard": (
        "{ userDashboard { activeSessions { id } } adminDashboard { activeUsers } }",
        {},
        "user",
    ),
    "wrong-variable-types": (USERS, {"first": "many", "after": 5, "search": ["x"]}, "admin"),
}


async def leak_problem(callers: Callers, name: str) -> str | None:
    """What is wrong with the answer to one hostile request, or None."""
    query, variables, caller = LEAK_CASES[name]
    token = {"user": callers.user_token, "admin": callers.admin_token, None: None}[caller]
    # ensure_ascii: lone surrogates travel as JSON escapes, as a hostile client may send them.
    sent = json.dumps({"query": query, "variables": variables})
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await callers.client.post("/graphql", content=sent, headers=headers)
    try:
        assert_no_leak(response, sent=sent)
    except AssertionError as failure:
        return str(failure)[:500]
    codes = {
        error.get("extensions", {}).get("code") for error in response.json().get("errors") or []
    }
    if "INTERNAL_SERVER_ERROR" in codes or None in codes:
        return response.text[:500]
    return None


class TestNothingLeaks:
    async def test_hostile_input_is_refused_or_answered_without_leaking(
        self, production: Callers, backend: Backend
    ) -> None:
        """One app and one set of callers for every case: the cases are many, setup is not cheap."""
        problems = {}
        for name in LEAK_CASES:
            problem = await leak_problem(production, name)
            if problem is not None:
                problems[name] = problem

        assert problems == {}
