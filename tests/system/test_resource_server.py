"""examples/resource-server: a real Node.js service checking our tokens, against a live gql-auth.

`GET /me` checks tokens with the JWKS alone, `GET /me/live` asks introspection
too, and takes API keys; `GET /profile` needs the `profile:read` scope. Every
test runs with ES256 and RS256, on SQLite and on MariaDB. Skipped without node
and npm, failed without them under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from jose import jwk, jwt

from gql_auth.security.signing_keys import public_jwk
from tests.support.api_keys import CREATE_API_KEY, REVOKE_API_KEY
from tests.support.helpers import (
    LOGOUT,
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    register_input,
    unique_username,
)
from tests.support.live_server import REPO, npm_ci, require_tools
from tests.support.servers import (
    GQL_AUTH,
    ServerProcess,
    free_port,
    server_environment,
    wait_for_workers,
    worker_serving,
)

EXAMPLE = REPO / "examples" / "resource-server"
INTROSPECTION_SECRET = "resource-server-introspection-secret-0123456789"
# Short, so that a key removed from gql-auth's JWKS leaves the Node service's cache quickly.
JWKS_CACHE_MAX_AGE_MS = 500

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("algorithm", ["ES256", "RS256"])]


@pytest.fixture(scope="module")
def node() -> str:
    tools = require_tools("node", "npm", why="the resource-server example needs them")
    npm_ci(EXAMPLE, tools["npm"])
    return tools["node"]


def gen_key(algorithm: str, path: Path) -> tuple[Path, Path]:
    """`gql-auth gen-key --output`, as an operator runs it: the private and the public file."""
    done = subprocess.run(
        [str(GQL_AUTH), "gen-key", "--algorithm", algorithm, "--output", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return path, path.with_name(path.name.removesuffix(".pem") + ".pub.pem")


@dataclass
class GqlAuth:
    """gql-auth serve on one port, restarted there with other key settings (a deployment)."""

    database_url: str
    workdir: Path
    algorithm: str
    port: int
    process: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, private_key: Path | None, *previous: Path, workers: int = 1) -> None:
        self.stop()
        settings = {
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "INFO" if workers > 1 else "WARNING",
            "JWT_ALGORITHM": self.algorithm,
            "JWT_PREVIOUS_PUBLIC_KEY_FILES": ",".join(str(path) for path in previous),
            "INTROSPECTION_SECRET": INTROSPECTION_SECRET,
        }
        if private_key is not None:
            settings["JWT_PRIVATE_KEY_FILE"] = str(private_key)
        env = server_environment(self.database_url, **settings)
        self.process = ServerProcess(env, self.workdir, "--workers", str(workers), port=self.port)
        self.process.wait_until_healthy()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def graphql(self, query: str, variables: dict[str, Any], token: str = "") -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=20,
        )
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body
        return body

    def sign_up(self) -> dict[str, Any]:
        payload: dict[str, Any] = self.graphql(
            REGISTER, {"input": register_input(unique_username("rs"))}
        )["data"]["register"]
        return payload

    def create_api_key(self, token: str, scopes: list[str]) -> dict[str, Any]:
        """A new key of the token's user (sign_up's password re-authenticates): {secret, apiKey}."""
        fields = {"name": "resource-server", "scopes": scopes, "currentPassword": STRONG_PASSWORD}
        created: dict[str, Any] = self.graphql(CREATE_API_KEY, {"input": fields}, token)["data"][
            "createApiKey"
        ]
        return created

    def jwks_kids(self) -> list[str]:
        response = httpx.get(f"{self.url}/.well-known/jwks.json", timeout=10)
        return [key["kid"] for key in response.json()["keys"]]


class ResourceServer:
    """`node server.mjs` from the example, started and always stopped."""

    def __init__(self, node: str, gql_auth: GqlAuth, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"resource-server-{self.port}.log"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "GQL_AUTH_URL": gql_auth.url,
            "INTROSPECTION_SECRET": INTROSPECTION_SECRET,
            "JWT_ALGORITHMS": gql_auth.algorithm,  # pinned: the one gql-auth signs with
            "PORT": str(self.port),
            "JWKS_CACHE_MAX_AGE_MS": str(JWKS_CACHE_MAX_AGE_MS),
            "JWKS_COOLDOWN_MS": "0",
        }
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [node, str(EXAMPLE / "server.mjs")],
                cwd=EXAMPLE,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"resource server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        pytest.fail(f"resource server not up after 20s:\n{self.log.read_text()}")

    def get(self, path: str, token: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=20
        )

    def status(self, path: str, token: str) -> int:
        return self.get(path, token).status_code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def stack(
    node: str, algorithm: str, database: SqlDatabase, tmp_path: Path
) -> Iterator[tuple[GqlAuth, ResourceServer]]:
    gql_auth = GqlAuth(database.url, tmp_path, algorithm, free_port())
    resource_server: ResourceServer | None = None
    try:
        gql_auth.start(private_key=None)  # development: a generated key until a test says so
        resource_server = ResourceServer(node, gql_auth, tmp_path)
        yield gql_auth, resource_server
    finally:
        if resource_server is not None:
            resource_server.stop()
        gql_auth.stop()


def resigned(token: str, private_key: Path, algorithm: str, **changes: Any) -> str:
    """The token's claims changed and signed again with this key, under the token's own kid."""
    header = jwt.get_unverified_header(token)
    claims = {**jwt.get_unverified_claims(token), **changes}
    return str(
        jwt.encode(
            claims, private_key.read_text(), algorithm=algorithm, headers={"kid": header["kid"]}
        )
    )


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def kid_of_public_key(path: Path, algorithm: str) -> str:
    return public_jwk(jwk.construct(path.read_text(), algorithm))["kid"]


def test_a_token_works_on_both_routes_and_logout_stops_only_the_introspecting_one(
    stack: tuple[GqlAuth, ResourceServer], algorithm: str, tmp_path: Path
) -> None:
    gql_auth, resource_server = stack
    signed_in = gql_auth.sign_up()
    token = signed_in["accessToken"]

    jwks_only, live = resource_server.get("/me", token), resource_server.get("/me/live", token)

    assert jwks_only.status_code == 200, jwks_only.text
    assert live.status_code == 200, live.text
    assert jwks_only.json() == {
        "sub": signed_in["user"]["id"],
        "sid": jwt.get_unverified_claims(token)["sid"],
        "role": "USER",
        "checkedBy": "jwks",
    }
    assert live.json()["checkedBy"] == "introspection"
    assert live.json()["sub"] == signed_in["user"]["id"]

    gql_auth.graphql(LOGOUT, {"token": signed_in["refreshToken"]})

    # The trade-off: introspection sees the logout at once; the JWKS alone cannot.
    assert resource_server.status("/me/live", token) == 401
    assert resource_server.status("/me", token) == 200


def test_an_api_key_is_introspected_while_live_and_refused_once_revoked_or_mistyped(
    stack: tuple[GqlAuth, ResourceServer], algorithm: str
) -> None:
    gql_auth, resource_server = stack
    signed_in = gql_auth.sign_up()
    token, user_id = signed_in["accessToken"], signed_in["user"]["id"]
    profile_key = gql_auth.create_api_key(token, ["profile:read"])
    secret = profile_key["secret"]
    dashboard_only = gql_auth.create_api_key(token, ["dashboard:read"])["secret"]
    flipped = secret[:-1] + ("a" if secret[-1] != "a" else "b")  # the checksum no longer matches

    live, profile = resource_server.get("/me/live", secret), resource_server.get("/profile", secret)

    assert live.status_code == 200, live.text
    assert live.json() == {
        "sub": user_id,
        "role": "USER",
        "tokenType": "api_key",
        "checkedBy": "introspection",
    }
    assert profile.status_code == 200, profile.text
    assert profile.json()["scope"] == "profile:read"
    # Authorization by scope: the key lacks profile:read; a USER's access token holds it.
    refused = resource_server.get("/profile", dashboard_only)
    assert refused.status_code == 403, refused.text
    assert refused.json() == {"error": "insufficient_scope", "scope": "profile:read"}
    assert 'scope="profile:read"' in refused.headers["www-authenticate"]
    assert resource_server.status("/me/live", dashboard_only) == 200
    assert resource_server.get("/profile", token).json()["tokenType"] == "access"
    # Opaque: the JWKS route cannot check a key; a changed character fails the checksum.
    assert resource_server.status("/me", secret) == 401
    for path in ("/me/live", "/profile"):
        assert resource_server.status(path, flipped) == 401

    revoked = gql_auth.graphql(REVOKE_API_KEY, {"id": profile_key["apiKey"]["id"]}, token)

    assert revoked["data"]["revokeApiKey"] is True
    for path in ("/me/live", "/profile"):
        assert resource_server.status(path, secret) == 401
    assert resource_server.status("/me/live", dashboard_only) == 200  # only that key stopped


def test_the_jwks_route_accepts_a_token_only_until_it_expires_and_never_a_forgery(
    stack: tuple[GqlAuth, ResourceServer], algorithm: str, tmp_path: Path
) -> None:
    gql_auth, resource_server = stack
    private_key = tmp_path / f".gql_auth_secret.{algorithm.lower()}.pem"  # development's key
    token = gql_auth.sign_up()["accessToken"]
    now = int(time.time())

    expired = resigned(token, private_key, algorithm, iat=now - 3600, exp=now - 60)
    stranger, _ = gen_key(algorithm, tmp_path / "stranger.pem")
    forged = resigned(token, stranger, algorithm, role="ADMIN")  # our kid, someone else's key

    assert resource_server.status("/me", token) == 200
    for path in ("/me", "/me/live"):
        assert resource_server.status(path, expired) == 401
        assert resource_server.status(path, forged) == 401


def test_after_a_key_rotation_old_tokens_verify_while_the_old_key_is_listed(
    stack: tuple[GqlAuth, ResourceServer], algorithm: str, tmp_path: Path
) -> None:
    gql_auth, resource_server = stack
    old_key, old_public = gen_key(algorithm, tmp_path / "old.pem")
    new_key, new_public = gen_key(algorithm, tmp_path / "new.pem")

    # Step 1: sign with the old key, publish the next one ahead.
    gql_auth.start(old_key, new_public)
    old_token = gql_auth.sign_up()["accessToken"]
    assert sorted(gql_auth.jwks_kids()) == sorted(
        [kid_of(old_token), kid_of_public_key(new_public, algorithm)]
    )
    assert resource_server.status("/me", old_token) == 200

    # Step 2: switch; the old public key stays listed for one access-token lifetime.
    gql_auth.start(new_key, old_public)
    new_token = gql_auth.sign_up()["accessToken"]
    assert kid_of(new_token) == kid_of_public_key(new_public, algorithm) != kid_of(old_token)
    assert gql_auth.jwks_kids()[0] == kid_of(new_token)  # the signing key first
    for token in (old_token, new_token):
        for path in ("/me", "/me/live"):
            assert resource_server.status(path, token) == 200, (path, token)

    # Step 3: remove it; once the Node service's JWKS cache is stale, old tokens are refused.
    gql_auth.start(new_key)
    assert gql_auth.jwks_kids() == [kid_of(new_token)]
    time.sleep(JWKS_CACHE_MAX_AGE_MS / 1000 + 0.2)
    for path in ("/me", "/me/live"):
        assert resource_server.status(path, old_token) == 401
        assert resource_server.status(path, new_token) == 200


def test_two_workers_sign_with_one_generated_key_and_each_ones_tokens_verify(
    node: str, algorithm: str, database: SqlDatabase, tmp_path: Path
) -> None:
    gql_auth = GqlAuth(database.url, tmp_path, algorithm, free_port())
    resource_server: ResourceServer | None = None
    try:
        # Development generates the key once, before uvicorn starts the workers.
        gql_auth.start(private_key=None, workers=2)
        assert gql_auth.process is not None
        (key_file,) = tmp_path.glob(".gql_auth_secret.*.pem")
        assert key_file.stat().st_mode & 0o777 == 0o600
        wait_for_workers(gql_auth.process, 2)
        tokens_by_worker: dict[int, list[str]] = {}
        # The kernel hands connections out as it likes (under load, often all to one
        # worker for a while): rounds until both have served.
        for _round in range(40):
            for worker, tokens in asyncio.run(
                sign_ups_by_worker(gql_auth, gql_auth.process, count=8)
            ).items():
                tokens_by_worker.setdefault(worker, []).extend(tokens)
            if len(tokens_by_worker) == 2:
                break
        resource_server = ResourceServer(node, gql_auth, tmp_path)

        assert len(tokens_by_worker) == 2, tokens_by_worker.keys()  # both workers signed some
        tokens = [token for each in tokens_by_worker.values() for token in each]
        assert {kid_of(token) for token in tokens} == set(gql_auth.jwks_kids())
        for token in tokens:  # the Node service's introspections reach either worker
            assert resource_server.status("/me", token) == 200
            assert resource_server.status("/me/live", token) == 200
    finally:
        if resource_server is not None:
            resource_server.stop()
        gql_auth.stop()


async def sign_ups_by_worker(
    gql_auth: GqlAuth, server: ServerProcess, *, count: int
) -> dict[int, list[str]]:
    """Parallel sign-ups, each on a connection of its own, grouped by the worker that served it."""
    clients = [httpx.AsyncClient(base_url=gql_auth.url, timeout=30) for _ in range(count)]
    try:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/graphql",
                    json={"query": REGISTER, "variables": {"input": register_input()}},
                )
                for client in clients
            )
        )
        # Asked while every connection is still open (kept alive in its client's pool).
        by_worker: dict[int, list[str]] = {}
        for response in responses:
            assert response.status_code == 200, response.text
            client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            worker = worker_serving(server.process.pid, gql_auth.port, client_port)
            by_worker.setdefault(worker, []).append(
                response.json()["data"]["register"]["accessToken"]
            )
        return by_worker
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
