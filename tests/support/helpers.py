"""Test helpers: settings, a running app, GraphQL calls, small factories and direct SQL."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from jose import jwt
from sqlalchemy.engine import Engine

from gql_auth.settings import Settings
from gql_auth.tables import Base
from gql_auth.web.app import create_app

SECRET_KEY = "test-signing-key-0123456789-abcdefghij"  # >= 32 bytes, as Settings demands
STRONG_PASSWORD = "Quokka-Harbour-Lantern-42"
# The cheapest argon2 that development settings accept: real hashing, test-suite fast.
# The one copy: Settings fields here, the same as environment variables for a real process.
# Tests lower the cost only through these settings, as an operator could.
LOW_ARGON2 = {"argon2_memory_cost": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
LOW_ARGON2_ENVIRONMENT = {name.upper(): str(value) for name, value in LOW_ARGON2.items()}
# Production refuses argon2 below OWASP's floor: the cheapest it accepts.
PRODUCTION_ARGON2 = {"argon2_memory_cost": 19456, "argon2_time_cost": 2}
PRODUCTION_ARGON2_ENVIRONMENT = {name.upper(): str(v) for name, v in PRODUCTION_ARGON2.items()}
UNREACHABLE_DATABASE_URLS = {
    "mysql-closed-port": "mysql+pymysql://root@127.0.0.1:1/nothing",
    "sqlite-missing-dir": "sqlite:////nonexistent-gql-auth-dir/x.db",
}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings built directly: no environment, no .env file, low but real argon2."""
    values: dict[str, Any] = {
        "secret_key": SECRET_KEY,
        "database_url": database_url,
        **LOW_ARGON2,
        **overrides,
    }
    return Settings(_env_file=None, **values)


# httpx's own default socket peer for in-process requests.
DEFAULT_PEER = ("127.0.0.1", 123)


@asynccontextmanager
async def started_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real ASGI app (create_app) inside its lifespan: services up, closed after."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client_of(app: FastAPI, peer: tuple[str, int] = DEFAULT_PEER) -> httpx.AsyncClient:
    """Speaks HTTP to the app in-process; `peer` is the socket address the app sees."""
    transport = httpx.ASGITransport(app=app, client=peer)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@asynccontextmanager
async def running_app(
    settings: Settings, peer: tuple[str, int] = DEFAULT_PEER
) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app with its lifespan, spoken to over HTTP in-process from `peer`."""
    async with started_app(settings) as app, client_of(app, peer) as client:
        yield client


@asynccontextmanager
async def one_app_with_peers(
    settings: Settings, *hosts: str
) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """One app (one limiter), and a client per host whose socket peer is that host."""
    async with started_app(settings) as app, AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(client_of(app, (host, 1000))) for host in hosts]
        yield tuple(clients)


ISSUER = AUDIENCE = "gql-auth"


def claims_of(token: str) -> dict[str, Any]:
    """Decoded the way another service sharing the secret would, with any JWT library."""
    claims: dict[str, Any] = jwt.decode(
        token, SECRET_KEY, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
    )
    return claims


# --- GraphQL -----------------------------------------------------------------

USER_FIELDS = "id username email role isActive emailVerified createdAt lastLoginAt"
AUTH_PAYLOAD_FIELDS = f"accessToken tokenType expiresIn refreshToken user {{ {USER_FIELDS} }}"
REGISTER = f"""
mutation Register($input: RegisterInput!) {{
  register(input: $input) {{ {AUTH_PAYLOAD_FIELDS} }}
}}"""
LOGIN = f"""
mutation Login($input: LoginInput!) {{
  login(input: $input) {{ {AUTH_PAYLOAD_FIELDS} }}
}}"""
ME = "query { me { id username email role isActive } }"
USER_DASHBOARD = """
query {
  userDashboard {
    user { id username email }
    activeSessions { id current createdAt lastUsedAt expiresAt userAgent ipAddress }
    recentEvents { kind at }
  }
}"""
ADMIN_DASHBOARD = """
query {
  adminDashboard {
    totalUsers activeUsers signupsLast24h failedLoginsLast24h
    usersByRole { role count }
    recentSignups { id username }
  }
}"""
PUBLIC_USER = "query User($id: ID!) { user(id: $id) { id username role isActive createdAt } }"


async def post_graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    body = {"query": query, "variables": dict(variables or {})}
    return await client.post("/graphql", json=body, headers=sent)


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Posts an operation and returns the JSON body (errors included, never raised)."""
    response = await post_graphql(client, query, variables, token=token, headers=headers)
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, Any] = response.json()
    return body


def only_error(body: Mapping[str, Any]) -> dict[str, Any]:
    errors = body.get("errors") or []
    assert len(errors) == 1, f"expected exactly one error, got {body}"
    error: dict[str, Any] = errors[0]
    return error


def assert_error(
    body: Mapping[str, Any],
    code: str,
    *,
    reason: str | None = None,
    field: str | None = None,
    path: list[str | int] | None = None,
) -> dict[str, Any]:
    """The body carries exactly one error with this code (and reason/field/path if given)."""
    error = only_error(body)
    extensions = error.get("extensions") or {}
    assert extensions.get("code") == code, error
    if reason is not None:
        assert extensions.get("reason") == reason, error
    if field is not None:
        assert extensions.get("field") == field, error
    if path is not None:
        assert error.get("path") == path, error
    return error


def data_of(body: Mapping[str, Any], name: str) -> Any:
    assert not body.get("errors"), body
    return body["data"][name]


# --- factories ---------------------------------------------------------------

_sequence = itertools.count(1)


def unique_username(prefix: str = "user") -> str:
    return f"{prefix}{next(_sequence)}_{secrets.token_hex(3)}"


def register_input(
    username: str | None = None, email: str | None = None, password: str = STRONG_PASSWORD
) -> dict[str, str]:
    username = username or unique_username()
    return {
        "username": username,
        "email": email or f"{username.lower()}@example.com",
        "password": password,
    }


async def register(
    client: httpx.AsyncClient,
    username: str | None = None,
    email: str | None = None,
    password: str = STRONG_PASSWORD,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """Registers a fresh account and returns its AuthPayload."""
    body = await gql(
        client, REGISTER, {"input": register_input(username, email, password)}, token=token
    )
    payload: dict[str, Any] = data_of(body, "register")
    return payload


async def login(
    client: httpx.AsyncClient,
    username: str,
    password: str = STRONG_PASSWORD,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    body = await gql(
        client, LOGIN, {"input": {"username": username, "password": password}}, token=token
    )
    payload: dict[str, Any] = data_of(body, "login")
    return payload


async def register_admin(client: httpx.AsyncClient, database: SqlDatabase) -> dict[str, Any]:
    """An ADMIN: nobody can register as one, so promote in the database and sign in again."""
    payload = await register(client, unique_username("admin"))
    database.update_user(payload["user"]["id"], role="ADMIN")
    return await login(client, payload["user"]["username"])


# --- direct SQL, for setting up data and looking at what was stored ---------------


@dataclass
class SqlDatabase:
    """A test database reached with a plain sync engine, beside the app's own."""

    url: str
    engine: Engine

    def table(self, name: str) -> sa.Table:
        return Base.metadata.tables[name]

    def update_user(self, user_id: str | int, **values: Any) -> None:
        users = self.table("users")
        self._update(users, users.c.id == int(user_id), values)

    def update_session(self, session_id: str, **values: Any) -> None:
        sessions = self.table("sessions")
        self._update(sessions, sessions.c.id == session_id, values)

    def _update(self, table: sa.Table, where: Any, values: Mapping[str, Any]) -> None:
        with self.engine.begin() as connection:
            changed = connection.execute(sa.update(table).where(where).values(**values)).rowcount
        assert changed == 1, f"expected to update one row of {table.name}, updated {changed}"

    def user_row(self, username: str) -> sa.RowMapping:
        users = self.table("users")
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(users).where(users.c.username_key == username.lower())
            ).one()
        return row._mapping

    def rows(self, name: str) -> list[sa.RowMapping]:
        with self.engine.connect() as connection:
            return [row._mapping for row in connection.execute(sa.select(self.table(name)))]

    def count(self, name: str) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.scalar(sa.select(sa.func.count()).select_from(self.table(name))) or 0
            )


# --- sessions, transport and leak checks (issues 4 and 6) ---------------------------------

REFRESH = f"""
mutation Refresh($token: String!) {{
  refreshToken(refreshToken: $token) {{ {AUTH_PAYLOAD_FIELDS} }}
}}"""
LOGOUT = "mutation Logout($token: String!) { logout(refreshToken: $token) }"
LOGOUT_ALL = "mutation { logoutAll }"
CHANGE_PASSWORD = f"""
mutation ChangePassword($input: ChangePasswordInput!) {{
  changePassword(input: $input) {{ {AUTH_PAYLOAD_FIELDS} }}
}}"""
# What must never reach a client: internals of the stack, SQL, and the signing key.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "sqlalchemy",
    "sqlalche.me",
    "pymysql",
    "aiomysql",
    "asyncmy",
    "aiosqlite",
    "psycopg",
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    SECRET_KEY,
)


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    """Posts refreshToken and returns the JSON body (errors included)."""
    return await gql(client, REFRESH, {"token": refresh_token})


def session_id_of(payload: Mapping[str, Any]) -> str:
    """The session (`sid`) an AuthPayload's access token belongs to."""
    return str(claims_of(payload["accessToken"])["sid"])


def assert_no_leak(response: httpx.Response, *, sent: str = "") -> None:
    """Not a 500, and nothing internal in the body (markers the request itself carried aside)."""
    assert response.status_code != 500, response.text
    leaked = [m for m in LEAK_MARKERS if m in response.text and m not in sent]
    assert not leaked, f"response leaks {leaked}: {response.text[:2000]}"


def event_kinds(database: SqlDatabase, user_id: str | int | None = None) -> list[str]:
    """Security event kinds in insertion order, of one user or of everyone."""
    return [
        row["kind"]
        for row in sorted(database.rows("security_events"), key=lambda row: row["id"])
        if user_id is None or row["user_id"] == int(user_id)
    ]


async def register_body(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """The raw response of a registration, for the cases that must fail."""
    return await gql(client, REGISTER, {"input": {**register_input(), **fields}})
