"""The github preset against a local server that speaks GitHub's OAuth app flow and REST API.

GitHub itself cannot be reached from the tests; tests/oidc/github.mjs answers as GitHub
documents it (and as a GitHub Enterprise Server lays it out under one base URL),
including its habit of answering token errors with HTTP 200.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.github_server import (
    GithubApp,
    GithubMode,
    GithubServer,
    running_github_server,
)
from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    assert_no_leak,
    claims_of,
    data_of,
    gql,
    post_graphql,
    register,
    running_app,
)
from tests.support.social import BEGIN, FINISH, one_provider_settings

REDIRECT = "http://127.0.0.1:5173/auth/github"
APP = GithubApp(redirect_uris=(REDIRECT,))
ACCOUNT = "query { me { username email emailVerified hasPassword identities { provider } } }"


@pytest.fixture(scope="module")
def github() -> Iterator[GithubServer]:
    with running_github_server(app=APP) as server:
        yield server


def github_settings(
    database: SqlDatabase, github: GithubServer, *, trust_email: bool = False, **overrides: Any
) -> Settings:
    return one_provider_settings(
        database.url,
        "github",
        issuer=github.base,  # as for a GitHub Enterprise Server
        client_id=APP.client_id,
        client_secret=APP.client_secret,
        redirect_uri=REDIRECT,
        trust_email=trust_email,
        **overrides,
    )


@pytest.fixture
async def client(database: SqlDatabase, github: GithubServer) -> AsyncIterator[httpx.AsyncClient]:
    await github.reset()
    async with running_app(github_settings(database, github)) as client:
        yield client


async def at_github(client: httpx.AsyncClient, github: GithubServer, login: str) -> dict[str, str]:
    body = await gql(client, BEGIN, {"input": {"provider": "github", "redirectUri": REDIRECT}})
    started = data_of(body, "beginSocialSignIn")
    returned = await github.authorize(started["authorizationUrl"], login=login)
    assert returned["state"] == started["state"]
    return returned


async def finish(client: httpx.AsyncClient, returned: dict[str, str]) -> dict[str, Any]:
    inputs = {"state": returned["state"], "code": returned["code"]}
    return await gql(client, FINISH, {"input": inputs})


async def sign_in(client: httpx.AsyncClient, github: GithubServer, login: str) -> dict[str, Any]:
    return await finish(client, await at_github(client, github, login))


def identity_subjects(database: SqlDatabase) -> list[str]:
    identities = database.table("social_identities")
    with database.engine.connect() as connection:
        return [row.subject for row in connection.execute(identities.select()).all()]


class TestSignIn:
    async def test_the_authorization_url_is_githubs_with_pkce_and_no_nonce(
        self, client: httpx.AsyncClient, github: GithubServer
    ) -> None:
        body = await gql(client, BEGIN, {"input": {"provider": "github", "redirectUri": REDIRECT}})
        url = httpx.URL(data_of(body, "beginSocialSignIn")["authorizationUrl"])

        assert str(url).startswith(github.authorize_url + "?")
        assert url.params["code_challenge_method"] == "S256"
        assert url.params["scope"] == "read:user user:email"
        assert "nonce" not in url.params

    async def test_a_new_github_user_gets_an_account_with_the_verified_primary_address(
        self, client: httpx.AsyncClient, github: GithubServer, database: SqlDatabase
    ) -> None:
        payload = data_of(await sign_in(client, github, "alice"), "finishSocialSignIn")

        me = data_of(await gql(client, ACCOUNT, token=payload["accessToken"]), "me")
        assert me == {
            "username": "alice",
            "email": "alice@example.com",
            "emailVerified": True,
            "hasPassword": False,
            "identities": [{"provider": "github"}],
        }
        assert claims_of(payload["accessToken"])["amr"] == ["fed"]
        assert identity_subjects(database) == [str(github.user("alice").id)]  # the id, not login

    async def test_an_unverified_primary_address_makes_an_unverified_account(
        self, client: httpx.AsyncClient, github: GithubServer
    ) -> None:
        payload = data_of(await sign_in(client, github, "bob"), "finishSocialSignIn")

        me = data_of(await gql(client, ACCOUNT, token=payload["accessToken"]), "me")
        assert me["email"] == "bob@example.com" and me["emailVerified"] is False

    async def test_the_returning_user_signs_in_to_the_same_account(
        self, client: httpx.AsyncClient, github: GithubServer
    ) -> None:
        first = data_of(await sign_in(client, github, "carol"), "finishSocialSignIn")
        again = data_of(await sign_in(client, github, "carol"), "finishSocialSignIn")

        assert again["user"]["id"] == first["user"]["id"]

    async def test_no_address_at_all_creates_nothing(
        self, client: httpx.AsyncClient, github: GithubServer, database: SqlDatabase
    ) -> None:
        returned = await at_github(client, github, "alice")
        await github.next("no_emails")

        body = await finish(client, returned)

        assert_error(body, "BAD_USER_INPUT", reason="REQUIRED", field="email")
        assert identity_subjects(database) == []


class TestLinkingByAddress:
    async def test_a_trusted_verified_primary_address_links_the_verified_account(
        self, database: SqlDatabase, github: GithubServer
    ) -> None:
        await github.reset()
        async with running_app(github_settings(database, github, trust_email=True)) as client:
            owner = await register(client, username="alice_local", email="alice@example.com")
            database.update_user(owner["user"]["id"], email_verified=True)

            payload = data_of(await sign_in(client, github, "alice"), "finishSocialSignIn")

        assert payload["user"]["id"] == owner["user"]["id"]

    async def test_an_address_github_says_is_unverified_never_links(
        self, database: SqlDatabase, github: GithubServer
    ) -> None:
        await github.reset()
        async with running_app(github_settings(database, github, trust_email=True)) as client:
            owner = await register(client, username="alice_local", email="alice@example.com")
            database.update_user(owner["user"]["id"], email_verified=True)
            returned = await at_github(client, github, "alice")
            await github.next("emails_unverified")

            body = await finish(client, returned)

        assert_error(body, "BAD_USER_INPUT", reason="ACCOUNT_EXISTS")
        assert identity_subjects(database) == []


class TestRefusals:
    async def test_a_forged_code_is_refused(
        self, client: httpx.AsyncClient, github: GithubServer
    ) -> None:
        returned = await at_github(client, github, "alice")

        body = await finish(client, {**returned, "code": "0" * 20})

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_a_code_works_once(self, client: httpx.AsyncClient, github: GithubServer) -> None:
        returned = await at_github(client, github, "alice")
        data_of(await finish(client, returned), "finishSocialSignIn")
        second = await at_github(client, github, "alice")

        body = await finish(client, {**second, "code": returned["code"]})

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    @pytest.mark.parametrize(
        ("mode", "path"),
        [
            ("garbage", "/login/oauth/access_token"),
            ("error_500", "/login/oauth/access_token"),
            ("bad_credentials", "/api/v3/user"),
            ("garbage", "/api/v3/user/emails"),
        ],
    )
    async def test_github_answering_nonsense_is_unavailable_not_a_500(
        self, client: httpx.AsyncClient, github: GithubServer, mode: GithubMode, path: str
    ) -> None:
        returned = await at_github(client, github, "alice")
        await github.next(mode, path=path)

        response = await post_graphql(
            client, FINISH, {"input": {"state": returned["state"], "code": returned["code"]}}
        )

        assert response.status_code == 200
        assert_error(response.json(), "UNAUTHENTICATED", reason="PROVIDER_UNAVAILABLE")
        assert_no_leak(response, sent=APP.client_secret)

    async def test_github_too_slow_to_answer_is_unavailable(
        self, database: SqlDatabase, github: GithubServer
    ) -> None:
        await github.reset()
        settings = github_settings(database, github, oauth_timeout_seconds=1)
        async with running_app(settings) as client:
            returned = await at_github(client, github, "alice")
            await github.next("hang", seconds=4, path="/api/v3/user")

            body = await finish(client, returned)

        assert_error(body, "UNAUTHENTICATED", reason="PROVIDER_UNAVAILABLE")
