"""GraphiQL's "Sign in with <provider>" in Chromium, against a real OpenID Provider.

tests/browser/graphiql_social.mjs drives the page of a real `gql-auth serve` whose only
redirect URI is GraphiQL's own URL, and the login and consent pages of
tests/oidc/provider.mjs, both on 127.0.0.1 (different ports). Skipped without node, npm
or chromium; failed without them under CI=true.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.helpers import STRONG_PASSWORD, claims_of, data_of, gql, register
from tests.support.live_server import (
    BROWSER_DIR,
    LiveServer,
    drive_browser,
    live_server,
    npm_ci,
    require_tools,
)
from tests.support.mfa import enable_totp
from tests.support.oidc_provider import (
    OidcAccount,
    OidcClient,
    OidcProvider,
    running_oidc_provider,
)
from tests.support.servers import free_port

CAROL = OidcAccount(
    sub="carol-0003", email="carol@example.com", name="Carol Ann", preferred_username="carol"
)
DAVE = OidcAccount(
    sub="dave-0004", email="dave@example.com", name="Dave Ross", preferred_username="dave"
)
DISPLAY_NAME = "Acme ID"
BEGIN_LINK = """
mutation BeginLink($input: BeginSocialLinkInput!) {
  beginSocialLink(input: $input) { authorizationUrl state }
}"""
LINK = """
mutation Link($input: FinishSocialSignInInput!) {
  linkSocialIdentity(input: $input) { id }
}"""


@dataclass(frozen=True)
class Acme:
    """gql-auth serving GraphiQL, with the provider "acme" whose redirect URI is GraphiQL."""

    provider: OidcProvider
    server: LiveServer
    graphiql: str
    node: str

    def drive(self, login: str, out: Path, **extra_env: str) -> dict[str, Any]:
        return drive_browser(
            self.server,
            self.node,
            "graphiql_social.mjs",
            login,
            out,
            ISSUER=self.provider.issuer,
            PROVIDER_NAME=DISPLAY_NAME,
            **extra_env,
        )


@contextmanager
def serving_acme(workdir: Path) -> Iterator[Acme]:
    tools = require_tools("node", "npm", "chromium", why="the GraphiQL browser test needs them")
    npm_ci(BROWSER_DIR, tools["npm"])
    port = free_port()
    graphiql = f"http://127.0.0.1:{port}/graphql"  # the redirect URI is the page itself
    client = OidcClient(redirect_uris=(graphiql,))
    with (
        running_oidc_provider(clients=(client,), accounts=(CAROL, DAVE)) as provider,
        live_server(
            workdir,
            port,
            OAUTH_PROVIDERS="acme",
            OAUTH_REDIRECT_URIS=graphiql,
            OAUTH_ACME_ISSUER=provider.issuer,
            OAUTH_ACME_CLIENT_ID=client.client_id,
            OAUTH_ACME_CLIENT_SECRET=client.client_secret,
            OAUTH_ACME_DISPLAY_NAME=DISPLAY_NAME,
        ) as server,
    ):
        yield Acme(provider, server, graphiql, tools["node"])


def assert_nothing_broke(report: dict[str, Any]) -> None:
    """Only the app and the provider were asked for anything; the CSP held; no errors."""
    assert report["blocked"] == []
    assert report["cspViolations"] == []
    assert report["pageErrors"] == []
    assert report["consoleErrors"] == []


@pytest.mark.slow
def test_graphiql_signs_in_with_a_provider_in_chromium(tmp_path: Path) -> None:
    with serving_acme(tmp_path) as acme:
        server, graphiql = acme.server, acme.graphiql
        report = acme.drive(CAROL.login_name, tmp_path)
        kept = json.loads(report["signedIn"]["stored"])
        me_over_http = httpx.post(
            server.graphql_url,
            json={"query": "{ me { username email } }"},
            headers={"Authorization": f"Bearer {kept['accessToken']}"},
            timeout=10,
        ).json()

    assert_nothing_broke(report)

    # A code and state that no sign-in of the tab asked for: refused before any request,
    # gone from the address bar, no token stored. Both with no sign-in begun in the tab,
    # with another state kept (a sign-in under way), and for the real redirect replayed
    # in another tab; and the kept state is used up by the refusal.
    for refused in (report["forgedNoState"], report["forgedWrongState"], report["replayed"]):
        assert refused["status"].startswith("Sign-in refused"), refused
        assert "Nothing was signed in" in refused["status"]
        assert refused["stored"] is None
        assert refused["keptState"] is None
        assert json.loads(refused["headersPane"]) == {}
        assert refused["address"] == graphiql
    assert report["finishRequests"] == 1  # only the real sign-in reached finishSocialSignIn

    # The bar offered the provider by its display name; "Cancel" at the provider came back
    # as access_denied, shown, and cleared from the address bar.
    assert report["buttons"] == [f"Sign in with {DISPLAY_NAME}"]
    denied = report["denied"]
    assert denied["status"].startswith(f"Sign-in with {DISPLAY_NAME} did not happen: access_denied")
    assert denied["address"] == graphiql
    assert denied["stored"] is None
    assert denied["keptState"] is None

    # The provider sent the browser back to GraphiQL itself with a code and the state,
    # which the page finished (no code or state left in the address bar) and signed in.
    callback = parse_qs(urlsplit(report["callback"]).query)
    assert report["callback"].startswith(f"{graphiql}?")
    assert set(callback) >= {"code", "state"}
    signed_in = report["signedIn"]
    assert signed_in["address"] == graphiql
    assert signed_in["keptState"] is None
    assert signed_in["status"].startswith(f"Signed in as {CAROL.preferred_username}: ")
    assert "finishSocialSignIn" in signed_in["status"]
    assert signed_in["buttonsVisible"] is False  # signed in: no sign-in buttons
    assert kept["via"] == "finishSocialSignIn"
    assert kept["refreshToken"]
    bearer = f"Bearer {kept['accessToken']}"
    assert json.loads(signed_in["headersPane"]) == {"Authorization": bearer}
    assert report["finishRequest"]["authorization"] is None

    # `me` typed into GraphiQL went out with that token and answered the provider's user.
    assert report["meRequest"]["authorization"] == bearer
    assert report["me"] == {"data": {"me": {"username": CAROL.preferred_username}}}
    assert me_over_http == {
        "data": {"me": {"username": CAROL.preferred_username, "email": CAROL.email}}
    }
    assert Path(report["screenshot"]).stat().st_size > 10_000


async def _linked_account_with_totp(acme: Acme) -> str:
    """dave: a password account that linked its Acme identity, then turned TOTP on.

    Returns one of its recovery codes (no clock to race in the browser).
    """
    async with httpx.AsyncClient(base_url=acme.server.url, timeout=10) as http:
        token = (await register(http, DAVE.preferred_username))["accessToken"]
        begin = {"provider": "acme", "redirectUri": acme.graphiql}
        begun = data_of(
            await gql(
                http,
                BEGIN_LINK,
                {"input": {**begin, "currentPassword": STRONG_PASSWORD}},
                token=token,
            ),
            "beginSocialLink",
        )
        returned = await acme.provider.authorize(begun["authorizationUrl"], login=DAVE.login_name)
        finish = {"state": returned["state"], "code": returned["code"]}
        data_of(await gql(http, LINK, {"input": finish}, token=token), "linkSocialIdentity")
        _secret, recovery_codes = await enable_totp(http, token)
    return recovery_codes[0]


@pytest.mark.slow
def test_graphiql_asks_for_the_second_factor_after_a_provider_in_chromium(
    tmp_path: Path,
) -> None:
    with serving_acme(tmp_path) as acme:
        recovery_code = asyncio.run(_linked_account_with_totp(acme))
        report = acme.drive(DAVE.login_name, tmp_path, SCENARIO="mfa", CODE=recovery_code)

    assert_nothing_broke(report)

    # The provider alone signs nobody in: MFA_REQUIRED, no token, and the editor now holds
    # VerifyMfa with the mfaToken in its variables, the code left for the user.
    asked = report["asked"]
    assert "a second factor is needed" in asked["status"]
    assert asked["stored"] is None
    assert asked["address"] == acme.graphiql
    assert "verifyMfa(input: {mfaToken: $mfaToken, code: $code})" in report["askedQuery"]
    variables = json.loads(report["askedVariables"])
    assert variables["code"] == ""
    assert variables["mfaToken"]

    # VerifyMfa, run from the editor with the code typed in, signed in through the same
    # path as a password's second factor: the token is kept and its session says fed + otp.
    verified = report["verified"]["data"]["verifyMfa"]
    assert verified["user"]["username"] == DAVE.preferred_username
    signed_in = report["signedIn"]
    assert signed_in["status"].startswith(f"Signed in as {DAVE.preferred_username}: ")
    assert "verifyMfa" in signed_in["status"]
    assert json.loads(signed_in["headersPane"]) == {
        "Authorization": f"Bearer {verified['accessToken']}"
    }
    assert claims_of(verified["accessToken"])["amr"] == ["fed", "otp"]
