"""Production mode on every backend: nothing internal (SQL, driver names, tracebacks) in any
response, whatever the input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.databases import Backend
from tests.support.helpers import (
    SqlDatabase,
    assert_no_leak,
    make_settings,
    register,
    register_admin,
    running_app,
)
from tests.support.production import production_settings


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
    # A refusal beside another field of the same non-null parent (found by tests/api/test_fuzz.py).
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
