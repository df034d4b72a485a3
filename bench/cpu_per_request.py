"""CPU and wall time per request of `me` and the REST rows, driven in-process (no sockets).

`python bench/cpu_per_request.py` (in bench/.venv; `make bench` runs it last).
Targets: gql-auth `me`, sent as text and by trusted-document id (what
skipping the per-request parse, validation and cache lookup buys), and as
text from a session with an active organization (`me org`: the viewer read
joins the membership, the token carries `org_id`) and with an API key
holding profile:read (`me key`: the key's checksum, its rate limit, the read
of key and owner, the scope gate); a bare
Strawberry app on FastAPI's GraphQLRouter (only the parse/validation
caches, a `me` resolver doing our decode and viewer check), the control
for what Strawberry's own machinery costs;
`rest` (bench/rest_app.py) and `tutorial` (bench/tutorial_app.py). Prints
medians over interleaved batches of `time.process_time()` per request,
which counts every thread of the process (database readers, FastAPI's
threadpool), and of wall time, which also shows waiting on hand-overs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
WORK = Path(tempfile.mkdtemp(prefix="gql-auth-cpu-"))
ME = "{ me { id username role } }"
ME_ID = hashlib.sha256(ME.encode()).hexdigest()
(WORK / "persisted-documents.json").write_text(json.dumps({ME_ID: ME}))
os.environ.update(
    # Both rows on one app: ids run, and so does the text (ONLY would refuse it).
    TRUSTED_DOCUMENTS_FILE=str(WORK / "persisted-documents.json"),
    TRUSTED_DOCUMENTS_ONLY="false",
    ENVIRONMENT="production",
    SECRET_KEY=secrets.token_urlsafe(32),
    DATABASE_URL=f"sqlite:///{WORK}/gqlauth.db",
    LOG_LEVEL="WARNING",  # the request log line is measured by `make bench`, not here
    # `me key` sends a few thousand requests with one key: counted, as always, never refused.
    RATE_LIMIT_API_KEY="100000000/minute",
)
Call = Callable[[], Awaitable[dict[str, Any]]]


async def call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {"request_id": "0" * 32},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # no disconnect while the app runs
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    answer: dict[str, Any] = {"body": b""}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer


import strawberry  # noqa: E402 - after the environment above, like every gql_auth import

_BARE: dict[str, Any] = {}


@strawberry.type
class BareUser:
    id: strawberry.ID
    username: str
    role: str


@strawberry.type
class BareQuery:
    @strawberry.field
    async def me(self, info: strawberry.Info) -> BareUser:
        token = info.context["request"].headers["authorization"].partition(" ")[2]
        user = (await _BARE["viewers"].resolve(_BARE["codec"].decode(token))).user
        return BareUser(
            id=strawberry.ID(str(user.id)), username=user.username, role=user.role.value
        )


def bare_strawberry_app(token_codec: Any, viewers: Any) -> Any:
    from fastapi import FastAPI
    from strawberry.extensions import ParserCache, ValidationCache
    from strawberry.fastapi import GraphQLRouter

    _BARE.update(codec=token_codec, viewers=viewers)
    schema = strawberry.Schema(
        BareQuery,
        extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)],
    )
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(GraphQLRouter(schema, graphql_ide=None), prefix="/graphql")
    return app


async def graphql(app: Any, query: str, variables: dict[str, object], token: str = "") -> Any:
    """The operation's `data`, or SystemExit with the answer."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables}).encode()
    answer = await call(app, "POST", "/graphql", headers, body)
    payload = json.loads(answer["body"])
    if answer["status"] != 200 or payload.get("errors"):
        raise SystemExit(f"{query.split('(')[0]} failed: {answer}")
    return payload["data"]


async def in_organization(app: Any, username: str, password: str) -> str:
    """An access token of a second session of the user, switched to an organization they own."""
    login = (
        "mutation($u: String!, $p: String!) "
        "{ login(input: {username: $u, password: $p}) { accessToken } }"
    )
    token = (await graphql(app, login, {"u": username, "p": password}))["login"]["accessToken"]
    create = (
        "mutation($n: String!, $s: String!) "
        "{ createOrganization(input: {name: $n, slug: $s}) { id } }"
    )
    created = await graphql(app, create, {"n": "Bench", "s": "bench-cpu"}, token)
    switch = "mutation($o: ID) { switchOrganization(organizationId: $o) { accessToken } }"
    switched = await graphql(app, switch, {"o": created["createOrganization"]["id"]}, token)
    return str(switched["switchOrganization"]["accessToken"])


async def api_key(app: Any, token: str, password: str) -> str:
    """A new API key of the token's user holding profile:read, which `me` needs."""
    create = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }"
    fields = {"name": "bench", "scopes": ["profile:read"], "currentPassword": password}
    created = await graphql(app, create, {"i": fields}, token)
    return str(created["createApiKey"]["secret"])


async def main(batches: int, batch: int) -> None:
    sys.path.insert(0, str(BENCH))
    import rest_app
    import tutorial_app
    from timing import medians_per_call

    from gql_auth.web.app import app_from_environment

    gql = app_from_environment()
    password = secrets.token_urlsafe(18)
    register = {
        "query": "mutation($u: String!, $e: String!, $p: String!) "
        "{ register(input: {username: $u, email: $e, password: $p}) { accessToken } }",
        "variables": {"u": "cpu", "e": "cpu@example.com", "p": password},
    }
    json_headers = {"content-type": "application/json"}
    answer = await call(gql, "POST", "/graphql", json_headers, json.dumps(register).encode())
    token = json.loads(answer["body"])["data"]["register"]["accessToken"]
    me = json.dumps({"query": ME}).encode()
    me_by_id = json.dumps({"documentId": f"sha256:{ME_ID}"}).encode()
    auth = json_headers | {"authorization": f"Bearer {token}"}
    org_token = await in_organization(gql, "cpu", password)
    in_org = json_headers | {"authorization": f"Bearer {org_token}"}
    key = json_headers | {"authorization": f"Bearer {await api_key(gql, token, password)}"}
    bare = bare_strawberry_app(rest_app.codec, rest_app.viewers)
    targets: dict[str, Call] = {
        "gql-auth me": lambda: call(gql, "POST", "/graphql", auth, me),
        "gql-auth me by id": lambda: call(gql, "POST", "/graphql", auth, me_by_id),
        "gql-auth me org": lambda: call(gql, "POST", "/graphql", in_org, me),
        "gql-auth me key": lambda: call(gql, "POST", "/graphql", key, me),
        "bare Strawberry me": lambda: call(bare, "POST", "/graphql", auth, me),
        "rest GET /me": lambda: call(rest_app.app, "GET", "/me", auth, b""),
        "tutorial GET /me": lambda: call(tutorial_app.app, "GET", "/me", auth, b""),
    }
    for name, target in targets.items():
        answer = await target()
        if answer["status"] != 200 or b'"errors"' in answer["body"] or b"cpu" not in answer["body"]:
            raise SystemExit(f"{name} failed: {answer}")
        for _ in range(100):
            await target()
    medians = await medians_per_call(targets, batches, batch)
    for name, (cpu, wall) in medians.items():
        print(f"{name:20} {cpu:8.1f} us CPU {wall:8.1f} us wall per request")


if __name__ == "__main__":
    subprocess.run(  # noqa: S603 - our own CLI
        [str(Path(sys.executable).parent / "gql-auth"), "migrate"],
        cwd=WORK,
        check=True,
        capture_output=True,
    )
    import uvloop

    try:
        uvloop.run(main(batches=25, batch=40))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
