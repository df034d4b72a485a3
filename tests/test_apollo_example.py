"""examples/apollo-client: generated types match schema.graphql, it type-checks, and it works.

The example runs under node against a real `gql-auth serve`; skipped without node
and npm, failed without them under CI=true.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from jose import jwt

from tests.browser.live_server import REPO, LiveServer, live_server, npm_ci, require_tools, run
from tests.helpers import (
    LOGIN,
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    claims_of,
    register_input,
    unique_username,
)

EXAMPLE = REPO / "examples" / "apollo-client"
GENERATED = EXAMPLE / "src" / "gql"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node() -> str:
    tools = require_tools("node", "npm", why="the Apollo Client example needs them")
    npm_ci(EXAMPLE, tools["npm"])
    return tools["node"]


def _bin(name: str) -> str:
    return str(EXAMPLE / "node_modules" / ".bin" / name)


def _files(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_generated_types_match_schema_graphql(node: str, tmp_path: Path) -> None:
    output = tmp_path / "gql"
    env = {**os.environ, "CODEGEN_OUTPUT": f"{output}/"}
    run([_bin("graphql-codegen"), "--config", "codegen.ts"], cwd=EXAMPLE, env=env, timeout=90)
    regenerated, committed = _files(output), _files(GENERATED)
    assert regenerated, "codegen wrote nothing"
    stale = sorted(
        name
        for name in regenerated.keys() | committed.keys()
        if regenerated.get(name) != committed.get(name)
    )
    assert not stale, (
        f"examples/apollo-client/src/gql/ differs from what schema.graphql generates ({stale}): "
        "run `npm run codegen` in examples/apollo-client and commit src/gql/"
    )


def test_example_type_checks(node: str) -> None:
    run([_bin("tsc"), "--noEmit"], cwd=EXAMPLE, timeout=90)


# --- the demo against a live server -------------------------------------------------


@pytest.fixture(scope="module")
def demo(node: str) -> list[str]:
    run([_bin("tsc")], cwd=EXAMPLE, timeout=90)
    return [node, str(EXAMPLE / "dist" / "demo.js")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("apollo")) as running:
        yield running


@pytest.fixture(scope="module")
def database(server: LiveServer) -> Iterator[SqlDatabase]:
    engine = sa.create_engine(server.database_url, poolclass=sa.pool.NullPool)
    try:
        yield SqlDatabase(server.database_url, engine)
    finally:
        engine.dispose()


def run_demo(demo: list[str], server: LiveServer, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        demo,
        cwd=EXAMPLE,
        env={"PATH": os.environ.get("PATH", ""), "GRAPHQL_URL": server.graphql_url, **env},
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _graphql(server: LiveServer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = httpx.post(
        server.graphql_url, json={"query": query, "variables": variables}, timeout=10
    ).json()
    return body


def _signed_in_user(server: LiveServer) -> tuple[str, dict[str, Any]]:
    """A new account, registered and signed in over HTTP: its username and login payload."""
    username = unique_username("apollo")
    registered = _graphql(server, REGISTER, {"input": register_input(username)})
    assert not registered.get("errors"), registered
    body = _graphql(server, LOGIN, {"input": {"username": username, "password": STRONG_PASSWORD}})
    assert not body.get("errors"), body
    return username, body["data"]["login"]


def expired_access_token(live_token: str, secret_key: str) -> str:
    """The same session's claims, validly signed, expired a minute ago (as after a long idle)."""
    claims = claims_of(live_token)
    now = int(time.time())
    claims.update(iat=now - 16 * 60, exp=now - 60, jti=uuid.uuid4().hex)
    return str(jwt.encode(claims, secret_key, algorithm="HS256"))


def _session(database: SqlDatabase, session_id: str) -> Any:
    return next(row for row in database.rows("sessions") if row["id"] == session_id)


def test_demo_registers_signs_in_reads_refreshes_and_logs_out(
    demo: list[str], server: LiveServer, database: SqlDatabase
) -> None:
    username = unique_username("alice")
    done = run_demo(demo, server, DEMO_USERNAME=username, DEMO_PASSWORD=STRONG_PASSWORD)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"register: {username} (USER)",
        f"login: {username}",
        f"me: {username}",
        f"userDashboard: {username}, 2 active session(s)",
        f"refresh: new tokens, me: {username}",
        "logout: true",
    ]
    user_id = database.user_row(username)["id"]
    sessions = [row for row in database.rows("sessions") if row["user_id"] == user_id]
    # register's session is left alone; login's, refreshed then logged out, is revoked.
    assert sorted(row["revoked_at"] is None for row in sessions) == [False, True]


def test_expired_access_token_is_refreshed_once_for_concurrent_operations(
    demo: list[str], server: LiveServer, database: SqlDatabase
) -> None:
    username, login = _signed_in_user(server)
    expired = expired_access_token(login["accessToken"], server.secret_key)
    refused = httpx.post(
        server.graphql_url,
        json={"query": "{ me { username } }"},
        headers={"Authorization": f"Bearer {expired}"},
        timeout=10,
    ).json()
    assert refused["errors"][0]["extensions"]["reason"] == "TOKEN_EXPIRED", refused

    done = run_demo(demo, server, ACCESS_TOKEN=expired, REFRESH_TOKEN=login["refreshToken"])

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "resume: saved session",
        f"me: {username}",
        f"userDashboard: {username}, 2 active session(s)",  # register + login
        # Two operations failed with TOKEN_EXPIRED; a second refresh would have
        # presented a rotated token and had the whole session revoked.
        "refreshes: 1",
        "logout: true",
    ]
    assert _session(database, claims_of(login["accessToken"])["sid"])["revoked_at"] is not None


def test_refused_refresh_signs_out_and_fails(
    demo: list[str], server: LiveServer, database: SqlDatabase
) -> None:
    _username, login = _signed_in_user(server)
    logout = "mutation L($t: String!) { logout(refreshToken: $t) }"
    assert _graphql(server, logout, {"t": login["refreshToken"]})["data"] == {"logout": True}
    expired = expired_access_token(login["accessToken"], server.secret_key)

    done = run_demo(demo, server, ACCESS_TOKEN=expired, REFRESH_TOKEN=login["refreshToken"])

    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "resume: saved session"
    signed_out = [line for line in lines if line.startswith("signed out:")]
    assert len(signed_out) == 1, lines  # one shared refresh, so one sign-out
    assert signed_out[0].startswith("signed out: refresh failed (UNAUTHENTICATED/"), lines
    assert lines[-1] == "failed: UNAUTHENTICATED/TOKEN_EXPIRED", lines


def test_demo_signs_in_through_mfa_required_and_verify_mfa(
    demo: list[str], server: LiveServer, database: SqlDatabase
) -> None:
    username = unique_username("totp")
    done = run_demo(
        demo, server, DEMO_MFA="1", DEMO_USERNAME=username, DEMO_PASSWORD=STRONG_PASSWORD
    )

    assert done.returncode == 0, done.stdout + done.stderr
    # login without the code printed the MFA_REQUIRED error, not tokens; verifyMfa's
    # access token carries amr pwd+otp and `me` answers as the account.
    assert done.stdout.splitlines() == [
        f"register: {username} (USER)",
        "confirmTotp: 10 recovery codes",
        "login: UNAUTHENTICATED/MFA_REQUIRED (TOTP, RECOVERY_CODE)",
        f'verifyMfa: {username}, amr ["pwd","otp"]',
        f"me: {username}",
        "logout: true",
    ]
    user_id = database.user_row(username)["id"]
    sessions = [row for row in database.rows("sessions") if row["user_id"] == user_id]
    # register's session and verifyMfa's (logged out); login itself opened none.
    assert sorted(row["revoked_at"] is None for row in sessions) == [False, True]
