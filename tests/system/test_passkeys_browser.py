"""Passkeys in a real browser: Chromium's virtual authenticator against `gql-auth serve`.

tests/browser/passkeys.mjs registers a passkey with navigator.credentials.create and signs
in with navigator.credentials.get, both through the GraphQL API, from the server's own
origin http://localhost:<port> (a secure context, and a name WebAuthn accepts as RP id).
Skipped without node, npm or chromium; failed without them under CI=true.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import (
    BROWSER_DIR,
    drive_browser,
    live_server,
    npm_ci,
    register_on,
    require_tools,
)


def _unpadded(credential_id: str) -> str:
    """CDP reports ids in plain base64; the API speaks base64url without padding."""
    return base64.urlsafe_b64encode(base64.b64decode(credential_id)).rstrip(b"=").decode()


@pytest.mark.slow
def test_a_passkey_registers_and_signs_in_in_chromium(tmp_path: Path) -> None:
    tools = require_tools("node", "npm", "chromium", why="the passkey browser test needs them")
    npm_ci(BROWSER_DIR, tools["npm"])
    username = "passkey-alice"

    with live_server(tmp_path, host_name="localhost") as server:
        register_on(server, username)
        report = drive_browser(server, tools["node"], "passkeys.mjs", username, tmp_path)
        me_over_http = httpx.post(
            server.graphql_url.replace("localhost", "127.0.0.1"),
            json={"query": "{ me { username } }"},
            headers={
                "Authorization": "Bearer "
                + report["discoverable"]["finished"]["data"]["finishPasskeyLogin"]["accessToken"]
            },
            timeout=10,
        ).json()

    assert report["secureContext"] is True
    assert report["pageErrors"] == []
    assert report["consoleErrors"] == []

    # The browser's credential was verified and stored under the id the browser gave it.
    registered = report["registered"]["data"]["finishPasskeyRegistration"]
    assert registered["name"] == "Chromium"
    (stored,) = report["authenticator"]
    assert stored["rpId"] == "localhost"
    assert stored["isResidentCredential"] is True
    assert _unpadded(stored["credentialId"]) == report["createdId"]

    # Signed in twice with no password: by username (the options named the key) and
    # discoverable (they named none); each token reads `me`.
    by_username, discoverable = report["byUsername"], report["discoverable"]
    assert [item["id"] for item in by_username["allowCredentials"]] == [report["createdId"]]
    assert discoverable["allowCredentials"] == []
    for flow in (by_username, discoverable):
        assert flow["finished"]["data"]["finishPasskeyLogin"]["user"]["username"] == username
        assert flow["me"] == {"data": {"me": {"username": username}}}
    assert stored["signCount"] >= 2  # the virtual authenticator counted both assertions
    assert me_over_http == {"data": {"me": {"username": username}}}

    (listed,) = report["dashboard"]["data"]["userDashboard"]["passkeys"]
    assert listed["id"] == registered["id"]
    assert listed["lastUsedAt"] is not None
