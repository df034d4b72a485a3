"""GraphiQL is served from the package, offline, under a self-only CSP, and signs you in.

The page tests run in-process. The browser test drives Debian's Chromium with
playwright-core against a real `gql-auth serve`: skipped without node, npm or
chromium, failed without them under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gql_auth.web.graphiql import STATIC_DIR
from tests.support.helpers import (
    make_settings,
    running_app,
)
from tests.support.live_server import (
    BROWSER_DIR,
    REPO,
    LiveServer,
    drive_browser,
    live_server,
    npm_ci,
    register_on,
    require_tools,
)

ASSETS_PROJECT = REPO / "gql_auth" / "web" / "graphiql"
# Set to copy the screenshot to docs/graphiql.png (the README's picture).
UPDATE_SCREENSHOT = "GQL_AUTH_UPDATE_SCREENSHOT"
HIGH_ARGON2 = {"argon2_memory_cost": 19456, "argon2_time_cost": 2}  # production's floor


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


class TestOfflinePage:
    async def test_graphql_in_a_browser_gets_our_page_under_a_self_only_csp(
        self, tmp_path: Path
    ) -> None:
        async with running_app(make_settings(f"sqlite:///{tmp_path / 'x.db'}")) as client:
            response = await client.get("/graphql", headers={"accept": "text/html"})

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        policy = _directives(response.headers["content-security-policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["connect-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        nonce = next(v for v in policy["style-src"] if v.startswith("'nonce-"))
        assert policy["style-src"] == ["'self'", nonce]
        assert f'data-style-nonce="{nonce[7:-1]}"' in response.text
        assert "unsafe" not in response.headers["content-security-policy"]

    async def test_page_names_only_same_origin_assets_that_are_served(self, tmp_path: Path) -> None:
        async with running_app(make_settings(f"sqlite:///{tmp_path / 'x.db'}")) as client:
            page = (await client.get("/graphql", headers={"accept": "text/html"})).text
            assets = re.findall(r'(?:src|href)="([^"]+)"', page)
            served = {url: await client.get(url) for url in assets if url != "data:,"}

        assert not re.search(r"https?://", page), "the page must name no other origin"
        assert {urlsplit(url).path.rsplit("/", 1)[-1] for url in served} == {
            "graphiql.min.css",
            "page.css",
            "react.production.min.js",
            "react-dom.production.min.js",
            "graphiql.min.js",
            "auth.js",
        }
        for url, response in served.items():
            assert response.status_code == 200, url
            assert response.content, url

    async def test_each_page_gets_a_new_style_nonce(self, tmp_path: Path) -> None:
        async with running_app(make_settings(f"sqlite:///{tmp_path / 'x.db'}")) as client:
            first, second = [
                (await client.get("/graphql", headers={"accept": "text/html"})).headers[
                    "content-security-policy"
                ]
                for _ in range(2)
            ]
        assert first != second

    async def test_production_serves_no_ide_and_no_assets(self, tmp_path: Path) -> None:
        settings = make_settings(
            f"sqlite:///{tmp_path / 'x.db'}", environment="production", **HIGH_ARGON2
        )
        async with running_app(settings) as client:
            page = await client.get("/graphql", headers={"accept": "text/html"})
            asset = await client.get("/graphiql/static/auth.js")

        assert page.status_code == 404
        assert asset.status_code == 404

    def test_vendored_assets_are_the_locked_versions(self) -> None:
        lock = json.loads((ASSETS_PROJECT / "package-lock.json").read_text())
        versions = (STATIC_DIR / "vendor" / "VERSIONS.txt").read_text()
        for name in ("graphiql", "react", "react-dom"):
            locked = lock["packages"][f"node_modules/{name}"]["version"]
            assert f"{name}@{locked}" in versions, (
                f"static/vendor/ is not {name}@{locked}: run scripts/graphiql-assets.sh"
            )
            assert (STATIC_DIR / "vendor" / "licenses" / f"{name}.txt").is_file()


# --- a real browser -------------------------------------------------------------------


def _me_refused(server: LiveServer, token: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.post(
        server.graphql_url,
        json={"query": "{ me { username } }"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    return body


@pytest.mark.slow
def test_graphiql_signs_in_and_reads_me_in_chromium(tmp_path: Path) -> None:
    tools = require_tools("node", "npm", "chromium", why="the GraphiQL browser test needs them")
    npm_ci(BROWSER_DIR, tools["npm"])
    username = "alice"  # a fresh database: the README's screenshot shows this name

    # localhost, not 127.0.0.1: WebAuthn takes a host name as RP id, never an address.
    with live_server(tmp_path, host_name="localhost") as server:
        register_on(server, username)
        report = drive_browser(server, tools["node"], "graphiql.mjs", username, tmp_path)
        token = report["login"]["data"]["login"]["accessToken"]
        after_sign_out = _me_refused(server, token)

    # Offline: nothing left the host, the page and its assets did load, nothing broke.
    assert report["blocked"] == []
    assert all(urlsplit(url).hostname == "localhost" for url in report["requests"])
    assert any("/graphiql/static/vendor/graphiql.min.js" in url for url in report["requests"])
    assert report["cspViolations"] == []
    assert report["pageErrors"] == []
    assert report["consoleErrors"] == []

    # A fresh tab opened with gql-auth's starter document, and its Register ran as shipped.
    starter_variables = json.loads(report["starter"]["variables"])
    for operation in ("mutation Register(", "mutation Login(", "query Me {"):
        assert operation in report["starter"]["query"]
    registered = report["starterRegister"]["data"]["register"]
    assert registered["user"]["username"] == starter_variables["username"] != username

    # login ran in the editor; its token is kept, shown in the headers pane and survives a reload.
    assert report["login"]["data"]["login"]["user"]["username"] == username
    for state in (report["afterLogin"], report["afterReload"]):
        assert json.loads(state["headersPane"]) == {"Authorization": f"Bearer {token}"}
        assert state["status"].startswith(f"Signed in as {username}")
        assert state["stored"] is True

    # `me`, typed into the editor, went out with that bearer token and the result pane shows it.
    assert report["typedQuery"] == "{ me { username } }"
    assert report["meRequest"]["authorization"] == f"Bearer {token}"
    assert report["me"] == {"data": {"me": {"username": username}}}
    assert Path(report["screenshot"]).stat().st_size > 10_000

    # Sign out: forgotten in the page, revoked on the server, and `me` is refused again.
    assert report["afterSignOut"]["stored"] is False
    assert json.loads(report["afterSignOut"]["headersPane"]) == {}
    assert report["afterSignOut"]["status"] == "Signed out: the session is revoked."
    assert report["signOutRequest"] is not None
    assert report["meSignedOutRequest"]["authorization"] is None
    assert report["meSignedOut"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert after_sign_out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", after_sign_out

    # "Add passkey" registered the virtual authenticator's key; "Sign in with passkey" signed
    # in with it and no password, and `me` went out with that new token.
    assert report["afterAddPasskey"].startswith("Passkey added")
    assert [c["rpId"] for c in report["authenticatorCredentials"]] == ["localhost"]
    signed_in = report["afterPasskeySignIn"]
    assert signed_in["status"].startswith(f"Signed in as {username}")
    assert "finishPasskeyLogin" in signed_in["status"]
    passkey_bearer = json.loads(signed_in["headersPane"])["Authorization"]
    assert passkey_bearer != f"Bearer {token}"
    assert report["mePasskeyRequest"]["authorization"] == passkey_bearer
    assert report["mePasskey"] == {"data": {"me": {"username": username}}}

    if os.environ.get(UPDATE_SCREENSHOT):
        shutil.copyfile(report["screenshot"], REPO / "docs" / "graphiql.png")
