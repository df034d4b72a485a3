"""examples/apollo-client: generated types match schema.graphql, it type-checks, and it works.

The example runs under node against a real `gql-auth serve` in production mode that runs
only the example's trusted documents (src/gql/persisted-documents.json); its social sign-in
runs against a real OpenID Provider (tests/oidc), the test playing the browser there. Skipped
without node and npm, failed without them under CI=true.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from jose import jwt

from tests.support.helpers import (
    PRODUCTION_ARGON2_ENVIRONMENT,
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    claims_of,
    register_input,
    unique_username,
)
from tests.support.live_server import REPO, LiveServer, live_server, npm_ci, require_tools, run
from tests.support.oidc_provider import OidcAccount, OidcClient, OidcProvider, running_oidc_provider

EXAMPLE = REPO / "examples" / "apollo-client"
GENERATED = EXAMPLE / "src" / "gql"
MANIFEST = GENERATED / "persisted-documents.json"

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


def _codegen(cwd: Path, output: Path) -> dict[str, str]:
    """What codegen writes for the example in `cwd`, by file name, into `output`."""
    env = {**os.environ, "CODEGEN_OUTPUT": f"{output}/"}
    run([_bin("graphql-codegen"), "--config", "codegen.ts"], cwd=cwd, env=env, timeout=90)
    return _files(output)


def _stale(regenerated: dict[str, str], committed: dict[str, str]) -> list[str]:
    """The files the drift test complains about."""
    names = regenerated.keys() | committed.keys()
    return sorted(name for name in names if regenerated.get(name) != committed.get(name))


def test_generated_types_match_schema_graphql(node: str, tmp_path: Path) -> None:
    regenerated, committed = _codegen(EXAMPLE, tmp_path / "gql"), _files(GENERATED)
    assert "persisted-documents.json" in regenerated, sorted(regenerated)
    stale = _stale(regenerated, committed)
    assert not stale, (
        f"examples/apollo-client/src/gql/ differs from what schema.graphql generates ({stale}): "
        "run `npm run codegen` in examples/apollo-client and commit src/gql/"
    )


def test_changed_operation_is_drift_in_the_manifest(node: str, tmp_path: Path) -> None:
    # A copy of the example whose `Me` asks for one field less: the drift test must see it.
    copy = tmp_path / "examples" / "apollo-client"
    shutil.copytree(EXAMPLE / "src", copy / "src", ignore=shutil.ignore_patterns("gql"))
    shutil.copy(EXAMPLE / "codegen.ts", copy)
    (copy / "node_modules").symlink_to(EXAMPLE / "node_modules")
    shutil.copy(REPO / "schema.graphql", tmp_path / "schema.graphql")
    operations = copy / "src" / "operations.ts"
    me = "    me {\n      id\n      username\n      email\n      role\n"
    assert operations.read_text().count(me) == 1
    operations.write_text(operations.read_text().replace(me, me.replace("      email\n", "")))

    regenerated = _codegen(copy, tmp_path / "gql")

    assert "persisted-documents.json" in _stale(regenerated, _files(GENERATED))
    old, new = _manifest(MANIFEST.read_text()), _manifest(regenerated["persisted-documents.json"])
    gone, added = old.keys() - new.keys(), new.keys() - old.keys()
    assert [_operation_name(old[key]) for key in gone] == ["Me"]
    assert [_operation_name(new[key]) for key in added] == ["Me"]
    (key,) = added
    assert "email" not in new[key] and key == hashlib.sha256(new[key].encode()).hexdigest()
    assert {k: v for k, v in old.items() if k not in gone} == {
        k: v for k, v in new.items() if k not in added
    }


def test_committed_manifest_is_what_the_typed_documents_send() -> None:
    manifest = _manifest(MANIFEST.read_text())
    # The keys are the SHA-256 of the text, as TRUSTED_DOCUMENTS_FILE wants them...
    assert manifest and all(
        key == hashlib.sha256(text.encode()).hexdigest() for key, text in manifest.items()
    )
    # ...and each typed document carries its key, which the link sends instead of the text.
    embedded = re.findall(
        r'"__meta__":\{"hash":"([0-9a-f]{64})"\}', (GENERATED / "graphql.ts").read_text()
    )
    assert sorted(embedded) == sorted(manifest)


def _manifest(text: str) -> dict[str, str]:
    manifest: dict[str, str] = json.loads(text)
    return manifest


def _trusted_document(operation: str) -> tuple[str, str]:
    """The committed manifest's id and text of the example's operation of that name."""
    (found,) = [
        (key, text)
        for key, text in _manifest(MANIFEST.read_text()).items()
        if _operation_name(text) == operation
    ]
    return found


def _operation_name(document: str) -> str:
    found = re.match(r"(?:query|mutation|subscription) (\w+)", document)
    assert found, document
    return found.group(1)


def test_example_type_checks(node: str) -> None:
    run([_bin("tsc"), "--noEmit"], cwd=EXAMPLE, timeout=90)


# --- the demo against a live server -------------------------------------------------


@pytest.fixture(scope="module")
def demo(node: str) -> list[str]:
    run([_bin("tsc")], cwd=EXAMPLE, timeout=90)
    return [node, str(EXAMPLE / "dist" / "demo.js")]


# What production refuses to start without, plus the example's trusted documents only.
PRODUCTION = {
    "ENVIRONMENT": "production",
    **PRODUCTION_ARGON2_ENVIRONMENT,
    "TRUSTED_DOCUMENTS_FILE": str(MANIFEST),
    "TRUSTED_DOCUMENTS_ONLY": "true",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("apollo"), **PRODUCTION) as running:
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


def _trusted(
    server: LiveServer, operation: str, variables: dict[str, Any], token: str | None = None
) -> httpx.Response:
    """Runs one of the example's trusted documents by id, as any client without Apollo may."""
    document_id, _text = _trusted_document(operation)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        server.graphql_url,
        json={"documentId": f"sha256:{document_id}", "variables": variables},
        headers=headers,
        timeout=10,
    )


def _graphql(server: LiveServer, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = _trusted(server, operation, variables).json()
    return body


def _signed_in_user(server: LiveServer) -> tuple[str, dict[str, Any]]:
    """A new account, registered and signed in over HTTP: its username and login payload."""
    username = unique_username("apollo")
    registered = _graphql(server, "Register", {"input": register_input(username)})
    assert not registered.get("errors"), registered
    body = _graphql(server, "Login", {"input": {"username": username, "password": STRONG_PASSWORD}})
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


def test_demo_registers_signs_in_reads_refreshes_switches_organization_and_logs_out(
    demo: list[str], server: LiveServer, database: SqlDatabase
) -> None:
    username = unique_username("alice")
    done = run_demo(demo, server, DEMO_USERNAME=username, DEMO_PASSWORD=STRONG_PASSWORD)

    assert done.returncode == 0, done.stdout + done.stderr
    slug = username.replace("_", "-")
    (organization,) = [row for row in database.rows("organizations") if row["slug"] == slug]
    org_id = organization["id"]
    assert done.stdout.splitlines() == [
        f"register: {username} (USER)",
        f"login: {username}",
        f"me: {username}",
        f"userDashboard: {username}, 2 active session(s)",
        f"refresh: new tokens, me: {username}",
        f"createOrganization: {slug} (OWNER)",
        f"organizations: {slug} (OWNER)",
        # The switch's access token names the organization; the client kept the refresh
        # token it rotated, so the refresh after it is no replay and keeps the organization.
        f"switchOrganization: org_id {org_id}, org_role OWNER, rotated refresh token stored",
        f"refresh: org_id {org_id}, org_role OWNER, me: {username}",
        "logout: true",
    ]
    user_id = database.user_row(username)["id"]
    sessions = [row for row in database.rows("sessions") if row["user_id"] == user_id]
    # register's session is left alone; login's, refreshed, switched, refreshed and logged
    # out, is revoked, with the organization still its active one.
    assert sorted(row["revoked_at"] is None for row in sessions) == [False, True]
    (switched,) = [row for row in sessions if row["revoked_at"] is not None]
    assert switched["active_organization_id"] == org_id
    retired = [
        row
        for row in database.rows("retired_refresh_tokens")
        if row["session_id"] == switched["id"]
    ]
    assert len(retired) == 3  # refresh, switchOrganization, refresh: each rotated the token


def test_expired_access_token_is_refreshed_once_for_concurrent_operations(
    demo: list[str], server: LiveServer, database: SqlDatabase
) -> None:
    username, login = _signed_in_user(server)
    expired = expired_access_token(login["accessToken"], server.secret_key)
    refused = _trusted(server, "Me", {}, token=expired).json()
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
    logged_out = _graphql(server, "Logout", {"refreshToken": login["refreshToken"]})
    assert logged_out["data"] == {"__typename": "Mutation", "logout": True}, logged_out
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


# --- the provider button: social sign-in against a real OpenID Provider ----------------

# Nobody serves it: the test plays the browser, stops at the redirect and hands its
# address to the demo, as a person would paste it from the address bar.
REDIRECT = "http://127.0.0.1:5173/auth/callback"
ACME = OidcClient(redirect_uris=(REDIRECT,))
DAVE = OidcAccount(
    sub="dave-0004", email="dave@example.com", name="Dave Ross", preferred_username="dave"
)
ERIN = OidcAccount(
    sub="erin-0005", email="erin@example.com", name="Erin Hale", preferred_username="erin"
)


@dataclass(frozen=True)
class Acme:
    """A production server with the provider "acme" (a real oidc-provider) and REDIRECT."""

    provider: OidcProvider
    server: LiveServer
    database: SqlDatabase


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acme]:
    with (
        running_oidc_provider(clients=(ACME,), accounts=(DAVE, ERIN)) as provider,
        live_server(
            tmp_path_factory.mktemp("apollo-social"),
            **PRODUCTION,
            OAUTH_PROVIDERS="acme",
            OAUTH_REDIRECT_URIS=REDIRECT,
            OAUTH_ACME_ISSUER=provider.issuer,
            OAUTH_ACME_CLIENT_ID=ACME.client_id,
            OAUTH_ACME_CLIENT_SECRET=ACME.client_secret,
            OAUTH_ACME_DISPLAY_NAME="Acme ID",
        ) as server,
    ):
        engine = sa.create_engine(server.database_url, poolclass=sa.pool.NullPool)
        try:
            yield Acme(provider, server, SqlDatabase(server.database_url, engine))
        finally:
            engine.dispose()


@dataclass(frozen=True)
class SocialRun:
    returncode: int
    lines: list[str]
    stderr: str
    sent: list[str]  # the operations that reached the server, in order

    @property
    def authorization_url(self) -> str:
        (url,) = [line.removeprefix("authorize: ") for line in self.lines if "authorize: " in line]
        return url


class _RecordingProxy(BaseHTTPRequestHandler):
    """Forwards each POST to the server and records the operation it asked for (by the
    trusted document's hash, so by what the server would run)."""

    upstream = ""
    operations: list[str] = []

    def do_POST(self) -> None:
        request = self.rfile.read(int(self.headers["Content-Length"]))
        sha256 = json.loads(request)["extensions"]["persistedQuery"]["sha256Hash"]
        self.operations.append(_operation_name(_manifest(MANIFEST.read_text())[sha256]))
        forwarded = {
            name: value
            for name in ("Content-Type", "Accept", "Authorization")
            if (value := self.headers.get(name)) is not None
        }
        answer = httpx.post(self.upstream, content=request, headers=forwarded, timeout=30)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers["content-type"])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def recording_proxy(server: LiveServer) -> Iterator[tuple[str, list[str]]]:
    """A GraphQL URL in front of the server, and the operations sent to it, in order."""
    handler: type[_RecordingProxy] = type(
        "Handler", (_RecordingProxy,), {"upstream": server.graphql_url, "operations": []}
    )
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}/graphql", handler.operations
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()


async def run_social_demo(
    demo: list[str], server: LiveServer, browser: Callable[[str], Awaitable[str]]
) -> SocialRun:
    """The demo's DEMO_SOCIAL run: at its "authorize: <url>" line, `browser` goes to the
    provider and returns the address it was sent back to, which the demo reads on stdin.
    The demo talks to the server through a recording proxy: `sent` is what reached it."""
    with recording_proxy(server) as (url, sent):
        return await _run_social_demo(demo, url, browser, sent)


async def _run_social_demo(
    demo: list[str], url: str, browser: Callable[[str], Awaitable[str]], sent: list[str]
) -> SocialRun:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "GRAPHQL_URL": url,
        "DEMO_SOCIAL": "acme",
        "DEMO_REDIRECT_URI": REDIRECT,
    }
    process = await asyncio.create_subprocess_exec(
        *demo,
        cwd=EXAMPLE,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin and process.stdout and process.stderr
    lines: list[str] = []
    try:
        async with asyncio.timeout(100):
            while line := (await process.stdout.readline()).decode():
                lines.append(line.rstrip("\n"))
                if line.startswith("authorize: "):
                    callback = await browser(line.removeprefix("authorize: ").strip())
                    process.stdin.write(f"{callback}\n".encode())
                    await process.stdin.drain()
                    process.stdin.close()
            stderr = (await process.stderr.read()).decode()
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return SocialRun(returncode, lines, stderr, list(sent))


def at_redirect(parameters: dict[str, str]) -> str:
    """The address the browser lands on: the redirect URI with the provider's parameters."""
    return f"{REDIRECT}?{urlencode(parameters)}"


async def test_demo_signs_in_with_a_provider(demo: list[str], acme: Acme) -> None:
    async def browser(authorization_url: str) -> str:
        return at_redirect(await acme.provider.authorize(authorization_url, login=DAVE.login_name))

    done = await run_social_demo(demo, acme.server, browser)

    assert done.returncode == 0, (done.lines, done.stderr)
    assert done.lines == [
        "providers: acme (Acme ID)",
        f"authorize: {done.authorization_url}",
        "finishSocialSignIn: dave",
        "me: dave",  # the server's `me` with the tokens finishSocialSignIn gave
        "logout: true",
    ]
    assert done.sent == [
        "SignInProviders",
        "BeginSocialSignIn",
        "FinishSocialSignIn",
        "Me",
        "Logout",
    ]
    # The provider's own authorization endpoint, asked to come back to REDIRECT.
    sent = urlsplit(done.authorization_url)
    assert f"{sent.scheme}://{sent.netloc}{sent.path}" == acme.provider.authorization_endpoint
    assert parse_qs(sent.query)["redirect_uri"] == [REDIRECT]
    # `dave` is the account the provider's DAVE signed in to: a new one, linked to his sub.
    user = acme.database.user_row("dave")
    assert (user["email"], user["password_hash"]) == (DAVE.email, None)
    identities = [
        row for row in acme.database.rows("social_identities") if row["user_id"] == user["id"]
    ]
    assert [(row["provider"], row["subject"]) for row in identities] == [("acme", DAVE.sub)]
    sessions = [row for row in acme.database.rows("sessions") if row["user_id"] == user["id"]]
    assert [row["revoked_at"] is not None for row in sessions] == [True]  # logged out


@pytest.mark.parametrize("spoil", ["forged state", "no state"])
async def test_demo_refuses_a_redirect_with_another_state_before_asking_the_server(
    demo: list[str], acme: Acme, spoil: str
) -> None:
    # The real code, with a state that is not the one the demo kept: the redirect an
    # attacker would make the victim's browser follow to sign it in to their account.
    came_back: dict[str, str] = {}

    async def browser(authorization_url: str) -> str:
        came_back.update(await acme.provider.authorize(authorization_url, login=ERIN.login_name))
        forged = {k: v for k, v in came_back.items() if k != "state"}
        if spoil == "forged state":
            forged["state"] = secrets.token_urlsafe(32)
        return at_redirect(forged)

    done = await run_social_demo(demo, acme.server, browser)

    assert done.returncode == 1, (done.lines, done.stderr)
    assert done.lines == [
        "providers: acme (Acme ID)",
        f"authorize: {done.authorization_url}",
        "failed: STATE_MISMATCH: the state is not the one this sign-in kept",
    ]
    # Refused in the example: finishSocialSignIn never reached the server...
    assert done.sent == ["SignInProviders", "BeginSocialSignIn"]
    # ...and the refusal spent neither the state nor the code (single use at the server and
    # at the provider): the real redirect still finishes, once, as the provider's account.
    finished = _graphql(
        acme.server,
        "FinishSocialSignIn",
        {"input": {"state": came_back["state"], "code": came_back["code"]}},
    )
    assert not finished.get("errors"), finished
    assert finished["data"]["finishSocialSignIn"]["user"]["username"] == "erin"


# --- what the trusted-documents server refuses ----------------------------------------

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
def test_free_text_is_refused_and_runs_nothing(
    server: LiveServer, database: SqlDatabase, accept: str
) -> None:
    username = unique_username("text")
    _id, trusted_register = _trusted_document("Register")
    # Any text, even the very text of a trusted document, and even beside a trusted id.
    bodies: list[dict[str, Any]] = [
        {"query": REGISTER},
        {"query": trusted_register},
        {"query": "{ __typename }"},
        {"query": "{ this is not graphql"},
        {"query": trusted_register, "extensions": _apollo_extension(trusted_register)},
    ]
    for body in bodies:
        answer = httpx.post(
            server.graphql_url,
            json={**body, "variables": {"input": register_input(username)}},
            headers={"Accept": accept},
            timeout=10,
        )
        assert _error_code(answer) == "PERSISTED_QUERY_ID_REQUIRED", (body, answer.text)
        _assert_status(answer, accept)
    assert not [row for row in database.rows("users") if row["username_key"] == username.lower()]


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
def test_unknown_id_is_not_in_list(server: LiveServer, accept: str) -> None:
    untrusted = hashlib.sha256(b"{ me { id } }").hexdigest()
    bodies: list[dict[str, Any]] = [
        {"documentId": f"sha256:{untrusted}"},
        {"documentId": f"sha256:{'0' * 64}"},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": untrusted}}},
    ]
    for body in bodies:
        answer = httpx.post(server.graphql_url, json=body, headers={"Accept": accept}, timeout=10)
        assert _error_code(answer) == "PERSISTED_QUERY_NOT_IN_LIST", (body, answer.text)
        _assert_status(answer, accept)


def test_trusted_document_runs_by_apollo_hash(server: LiveServer) -> None:
    # The request the example's link makes, by hand: the hash alone, no text.
    _id, me = _trusted_document("Me")
    _username, login = _signed_in_user(server)
    answer = httpx.post(
        server.graphql_url,
        json={"operationName": "Me", "variables": {}, "extensions": _apollo_extension(me)},
        headers={"Authorization": f"Bearer {login['accessToken']}", "Accept": GRAPHQL_RESPONSE},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["me"]["id"] == login["user"]["id"], answer.text


def _apollo_extension(document: str) -> dict[str, Any]:
    sha256 = hashlib.sha256(document.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def _error_code(answer: httpx.Response) -> str:
    body = answer.json()
    assert body.get("data") is None and len(body["errors"]) == 1, answer.text
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def _assert_status(answer: httpx.Response, accept: str) -> None:
    # GraphQL over HTTP: refused before execution is not 200 for graphql-response+json;
    # application/json keeps 200 (what Apollo Client 3 and older clients expect).
    media_type = answer.headers["content-type"].split(";")[0]
    if accept == GRAPHQL_RESPONSE:
        assert media_type == GRAPHQL_RESPONSE and 400 <= answer.status_code < 500, answer
    else:
        assert media_type == "application/json" and answer.status_code == 200, answer


# --- the link never falls back to sending text ------------------------------------------


class _PersistedQueryServer(BaseHTTPRequestHandler):
    """Answers every POST with the configured error, as an automatic-persisted-queries
    server (not gql-auth) would, to see whether the client then sends the text."""

    code = ""
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append(json.loads(self.rfile.read(length)))
        message = {
            "PERSISTED_QUERY_NOT_FOUND": "PersistedQueryNotFound",
            "PERSISTED_QUERY_NOT_SUPPORTED": "PersistedQueryNotSupported",
        }.get(self.code, self.code)
        error = {"message": message, "extensions": {"code": self.code}}
        payload = json.dumps({"data": None, "errors": [error]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    "code",
    ["PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_SUPPORTED", "PERSISTED_QUERY_NOT_IN_LIST"],
)
def test_link_never_sends_text_after_a_persisted_query_error(demo: list[str], code: str) -> None:
    # Apollo's link by default resends the text after these; a trusted-documents client must not.
    handler: type[_PersistedQueryServer] = type(
        "Handler", (_PersistedQueryServer,), {"code": code, "bodies": []}
    )
    stub = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{stub.server_address[1]}/graphql"
        done = subprocess.run(
            demo,
            cwd=EXAMPLE,
            env={"PATH": os.environ.get("PATH", ""), "GRAPHQL_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    finally:
        stub.shutdown()
        stub.server_close()
        thread.join()

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [f"failed: {code}"], done.stdout + done.stderr
    register, _text = _trusted_document("Register")
    assert [body.get("query") for body in handler.bodies] == [None], handler.bodies
    assert handler.bodies[0]["extensions"]["persistedQuery"] == {
        "version": 1,
        "sha256Hash": register,
    }
