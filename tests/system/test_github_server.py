"""The local GitHub (tests/support/github_server.py) on its own, no gql-auth in it.

The github preset's tests trust it to answer as GitHub does and to misbehave exactly as
asked: here a plain httpx client runs the OAuth app flow with PKCE through it, reads the
user and their addresses from the REST API, meets each of GitHub's token errors (HTTP 200
with an `error` field), the scope rule of /user/emails, and each test control once.
Skipped without node, failed without it under CI=true.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.support.github_server import (
    DEFAULT_SCOPE,
    GithubFlowError,
    GithubLoginRefused,
    GithubServer,
    running_github_server,
)
from tests.support.oidc_provider import Pkce

pytestmark = pytest.mark.slow

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def github() -> Iterator[GithubServer]:
    with running_github_server() as running:
        yield running


@pytest.fixture(autouse=True)
async def _no_leftover_mode(github: GithubServer) -> AsyncIterator[None]:
    """A test that failed before its request leaves no spoiled response to the next."""
    yield
    await github.reset()


@dataclass(frozen=True)
class SignIn:
    """What the client keeps between sending the browser away and its return."""

    code: str
    pkce: Pkce


async def sign_in(
    github: GithubServer, *, login: str = "alice", scope: str = DEFAULT_SCOPE
) -> SignIn:
    pkce, state = Pkce.new(), secrets.token_urlsafe()
    url = github.authorization_url(code_challenge=pkce.challenge, state=state, scope=scope)
    callback = await github.authorize(url, login=login)
    assert callback["state"] == state, callback
    return SignIn(callback["code"], pkce)


async def exchange(
    github: GithubServer,
    signed_in: SignIn,
    *,
    headers: dict[str, str] = JSON,
    basic: bool = False,
    timeout: float = 10,
    **replace: str,
) -> httpx.Response:
    """The token request with client_secret_post (or HTTP Basic); `replace` changes fields."""
    app = github.app
    form = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "code": signed_in.code,
        "redirect_uri": app.redirect_uri,
        "code_verifier": signed_in.pkce.verifier,
        **replace,
    }
    auth: httpx.BasicAuth | None = None
    if basic:
        auth = httpx.BasicAuth(form.pop("client_id"), form.pop("client_secret"))
    async with httpx.AsyncClient(auth=auth, timeout=timeout) as http:
        return await http.post(github.token_url, data=form, headers=headers)


async def access_token(github: GithubServer, **sign_in_options: str) -> str:
    response = await exchange(github, await sign_in(github, **sign_in_options))
    token: str = response.json()["access_token"]
    return token


async def api(
    github: GithubServer, path: str, token: str | None, *, scheme: str = "Bearer"
) -> httpx.Response:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(f"{github.api_url}{path}", headers=headers)


def token_error(response: httpx.Response) -> dict[str, Any]:
    """GitHub's token errors: HTTP 200 and a JSON body with error, description and docs URL."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "access_token" not in body
    assert set(body) == {"error", "error_description", "error_uri"}, body
    assert body["error_uri"].startswith("https://docs.github.com/"), body
    return body


async def test_the_code_flow_with_pkce_gives_a_token_for_the_user_and_their_addresses(
    github: GithubServer,
) -> None:
    assert github.base.startswith("http://127.0.0.1:")
    response = await exchange(github, await sign_in(github, login="alice"))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    tokens = response.json()
    assert tokens["access_token"].startswith("gho_")
    assert len(tokens["access_token"]) == 40
    assert tokens["token_type"] == "bearer"
    assert tokens["scope"] == "read:user,user:email"

    user = await api(github, "/user", tokens["access_token"])
    assert user.status_code == 200, user.text
    alice = github.user("alice")
    body = user.json()
    assert (body["id"], body["login"], body["name"]) == (alice.id, "alice", "Alice Liddell")
    assert body["email"] == "alice@example.com"  # her public address
    assert body["type"] == "User"
    assert user.headers["x-oauth-scopes"] == "read:user, user:email"

    emails = await api(github, "/user/emails", tokens["access_token"])
    assert emails.status_code == 200, emails.text
    assert emails.json() == [
        {"email": "alice@example.com", "primary": True, "verified": True, "visibility": "public"},
        {"email": "alice@work.example.com", "primary": False, "verified": True, "visibility": None},
    ]


async def test_a_private_address_is_null_on_user_and_an_unverified_primary_says_so(
    github: GithubServer,
) -> None:
    carol = await access_token(github, login="carol")
    body = (await api(github, "/user", carol)).json()
    assert body["email"] is None
    assert body["name"] is None
    (primary,) = (await api(github, "/user/emails", carol)).json()
    assert primary == {
        "email": "carol@example.com",
        "primary": True,
        "verified": True,
        "visibility": "private",
    }

    bob = await access_token(github, login="bob")
    by_address = {e["email"]: e for e in (await api(github, "/user/emails", bob)).json()}
    assert by_address["bob@example.com"]["primary"] is True
    assert by_address["bob@example.com"]["verified"] is False
    assert by_address["bob@old.example.com"]["verified"] is True


async def test_without_accept_json_the_token_response_is_form_encoded_errors_too(
    github: GithubServer,
) -> None:
    signed_in = await sign_in(github)
    response = await exchange(github, signed_in, headers={})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-www-form-urlencoded")
    tokens = dict(parse_qsl(response.text))
    assert tokens["access_token"].startswith("gho_")
    assert tokens["token_type"] == "bearer"
    assert tokens["scope"] == "read:user,user:email"

    reused = dict(parse_qsl((await exchange(github, signed_in, headers={})).text))
    assert reused["error"] == "bad_verification_code"
    assert reused["error_description"] == "The code passed is incorrect or expired."


async def test_http_basic_client_authentication_works_too(github: GithubServer) -> None:
    response = await exchange(github, await sign_in(github), basic=True)

    assert response.json()["access_token"].startswith("gho_"), response.text


async def test_a_code_is_single_use_even_after_a_failed_attempt(github: GithubServer) -> None:
    signed_in = await sign_in(github)
    assert (await exchange(github, signed_in)).json()["access_token"]

    body = token_error(await exchange(github, signed_in))
    assert body["error"] == "bad_verification_code"
    assert body["error_description"] == "The code passed is incorrect or expired."
    assert body["error_uri"].endswith("#bad-verification-code")
    assert token_error(await exchange(github, signed_in, code="0" * 20))["error"] == (
        "bad_verification_code"
    )


async def test_pkce_the_verifier_must_match_and_be_sent(github: GithubServer) -> None:
    signed_in = await sign_in(github)
    wrong = token_error(await exchange(github, signed_in, code_verifier=Pkce.new().verifier))
    assert wrong["error"] == "bad_verification_code"
    # The failed attempt used the code up: the right verifier comes too late.
    assert token_error(await exchange(github, signed_in))["error"] == "bad_verification_code"

    without = await exchange(github, await sign_in(github), code_verifier="")
    assert token_error(without)["error"] == "bad_verification_code"


async def test_without_a_code_challenge_no_verifier_is_needed(github: GithubServer) -> None:
    url = github.authorization_url(code_challenge=None, state="s")
    callback = await github.authorize(url, login="alice")
    response = await exchange(github, SignIn(callback["code"], Pkce.new()), code_verifier="")

    assert response.json()["access_token"].startswith("gho_"), response.text


async def test_a_wrong_secret_is_incorrect_client_credentials_and_keeps_the_code(
    github: GithubServer,
) -> None:
    signed_in = await sign_in(github)
    body = token_error(await exchange(github, signed_in, client_secret="not-the-secret"))

    assert body["error"] == "incorrect_client_credentials"
    assert body["error_description"] == "The client_id and/or client_secret passed are incorrect."
    assert body["error_uri"].endswith("#incorrect-client-credentials")
    assert (await exchange(github, signed_in)).json()["access_token"]


async def test_redirect_uris_an_unregistered_one_gets_a_page_a_changed_one_a_mismatch(
    github: GithubServer,
) -> None:
    url = github.authorization_url(
        code_challenge=Pkce.new().challenge, state="s", redirect_uri="http://127.0.0.1:9/evil"
    )
    with pytest.raises(GithubFlowError, match="redirect_uri is not associated"):
        await github.authorize(url, login="alice")
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(url)
    assert page.status_code == 400
    assert "location" not in page.headers

    changed = await exchange(github, await sign_in(github), redirect_uri="http://127.0.0.1:9/x")
    body = token_error(changed)
    assert body["error"] == "redirect_uri_mismatch"


async def test_an_unknown_login_is_refused_and_cancelling_says_access_denied(
    github: GithubServer,
) -> None:
    url = github.authorization_url(code_challenge=Pkce.new().challenge, state="s")

    with pytest.raises(GithubLoginRefused, match="Incorrect username or password"):
        await github.authorize(url, login="mallory")
    denied = await github.authorize(url, login="alice", allow=False)
    assert denied["error"] == "access_denied", denied
    assert denied["error_description"] == "The user has denied your application access."
    assert denied["error_uri"].endswith("#access-denied")
    assert denied["state"] == "s"
    assert "code" not in denied


async def test_the_api_refuses_a_bad_or_missing_token_and_takes_the_token_scheme(
    github: GithubServer,
) -> None:
    bad = await api(github, "/user", "gho_" + "x" * 36)
    assert bad.status_code == 401
    assert bad.json()["message"] == "Bad credentials"
    assert bad.json()["documentation_url"].startswith("https://docs.github.com/")
    missing = await api(github, "/user", None)
    assert missing.status_code == 401
    assert missing.json()["message"] == "Requires authentication"

    token = await access_token(github)
    assert (await api(github, "/user", token, scheme="token")).json()["login"] == "alice"
    async with httpx.AsyncClient(timeout=10) as http:
        anonymous = await http.get(
            f"{github.api_url}/user", headers={"Authorization": f"Bearer {token}", "User-Agent": ""}
        )
    assert anonymous.status_code == 403  # GitHub's API wants a User-Agent


@pytest.mark.parametrize(
    ("scope", "granted", "emails_status"),
    [
        ("", "", 404),  # no scope: public data only
        ("read:user", "read:user", 404),
        ("user", "user", 200),  # `user` includes user:email
        ("user:email", "user:email", 200),
    ],
)
async def test_user_emails_needs_the_user_email_scope(
    github: GithubServer, scope: str, granted: str, emails_status: int
) -> None:
    response = await exchange(github, await sign_in(github, scope=scope))
    assert response.json()["scope"] == granted
    token = response.json()["access_token"]

    assert (await api(github, "/user", token)).json()["login"] == "alice"
    emails = await api(github, "/user/emails", token)
    assert emails.status_code == emails_status
    if emails_status == 404:
        assert emails.json()["message"] == "Not Found"


async def test_garbage_is_a_200_that_is_not_json_and_error_500_a_500(
    github: GithubServer,
) -> None:
    await github.next("garbage")
    garbage = await exchange(github, await sign_in(github))
    assert garbage.status_code == 200
    with pytest.raises(ValueError, match="Expecting value"):
        garbage.json()

    token = await access_token(github)
    await github.next("error_500")
    assert (await api(github, "/user", token)).status_code == 500
    assert (await api(github, "/user", token)).status_code == 200  # only the next one


async def test_hang_delays_the_response_past_a_client_timeout(github: GithubServer) -> None:
    await github.next("hang", seconds=1)
    signed_in = await sign_in(github)
    started = time.monotonic()
    late = await exchange(github, signed_in)
    assert time.monotonic() - started >= 1
    assert late.json()["access_token"]

    await github.next("hang", seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        await exchange(github, await sign_in(github), timeout=0.5)


async def test_the_email_modes_spoil_the_next_user_emails_only(github: GithubServer) -> None:
    token = await access_token(github)

    await github.next("emails_unverified")
    assert (await api(github, "/user", token)).status_code == 200  # not /user/emails: pending
    unverified = (await api(github, "/user/emails", token)).json()
    assert len(unverified) == 2
    assert all(entry["verified"] is False for entry in unverified)
    assert (await api(github, "/user/emails", token)).json()[0]["verified"] is True

    await github.next("no_emails")
    emails = await api(github, "/user/emails", token)
    assert emails.status_code == 200
    assert emails.json() == []


async def test_bad_credentials_and_a_path_aim_at_one_endpoint(github: GithubServer) -> None:
    token = await access_token(github)

    await github.next("bad_credentials", path="/api/v3/user/emails")
    assert (await api(github, "/user", token)).status_code == 200
    refused = await api(github, "/user/emails", token)
    assert refused.status_code == 401
    assert refused.json()["message"] == "Bad credentials"
    assert (await api(github, "/user/emails", token)).status_code == 200

    await github.next("error_500")
    await github.reset()
    assert (await api(github, "/user", token)).status_code == 200
    with pytest.raises(GithubFlowError, match="unknown mode"):
        await github.next("no_such_mode")  # type: ignore[arg-type]
