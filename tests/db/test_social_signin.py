"""Social sign-in against a real OpenID Provider (panva's oidc-provider), on every backend.

The provider runs as a Node process (tests/support/oidc_provider.py); its login and consent
pages are driven over HTTP like a browser, and its token endpoint is made to misbehave on
request. Each test goes through gql-auth's GraphQL API: begin, the provider, finish.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gql_auth.core.models import utcnow
from gql_auth.settings import Settings
from tests.support.helpers import (
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    assert_no_leak,
    claims_of,
    data_of,
    event_kinds,
    gql,
    login,
    post_graphql,
    register,
    running_app,
    session_id_of,
)
from tests.support.mailbox import running_mail_app
from tests.support.mfa import VERIFY, code_at, enable_totp
from tests.support.oidc_provider import (
    OidcAccount,
    OidcClient,
    OidcProvider,
    TokenMode,
    running_oidc_provider,
)
from tests.support.recovery import NEW_PASSWORD, reset, reset_token
from tests.support.social import BEGIN, FINISH, one_provider_settings

REDIRECT = "http://127.0.0.1:5173/auth/callback"
CLIENT = OidcClient(redirect_uris=(REDIRECT,))
ALICE = OidcAccount(
    sub="alice-0001", email="alice@example.com", name="Alice Liddell", preferred_username="alice"
)
BOB = OidcAccount(
    sub="bob-0002",
    email="bob@example.com",
    name="Bob Unverified",
    preferred_username="bob",
    email_verified=False,
)
CAROL = OidcAccount(
    sub="carol-0003", email="carol@example.com", name="Carol Ann", preferred_username="carol"
)

PROVIDERS = "query { signInProviders { id displayName } }"
BEGIN_LINK = """
mutation BeginLink($input: BeginSocialLinkInput!) {
  beginSocialLink(input: $input) { authorizationUrl state }
}"""
LINK = """
mutation Link($input: FinishSocialSignInInput!) {
  linkSocialIdentity(input: $input) { id provider email }
}"""
UNLINK = """
mutation Unlink($id: ID!, $password: String) {
  unlinkSocialIdentity(id: $id, currentPassword: $password)
}"""
ACCOUNT = """
query { me { id username email emailVerified hasPassword identities { provider email } } }
"""


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with running_oidc_provider(clients=(CLIENT,), accounts=(ALICE, BOB, CAROL)) as running:
        yield running


def social_settings(
    database: SqlDatabase,
    provider: OidcProvider,
    *,
    trust_email: bool = False,
    issuer: str = "",
    **overrides: Any,
) -> Settings:
    return one_provider_settings(
        database.url,
        "acme",
        issuer=issuer or provider.issuer,
        client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret,
        redirect_uri=REDIRECT,
        trust_email=trust_email,
        display_name="Acme ID",
        **overrides,
    )


@pytest.fixture
async def client(database: SqlDatabase, provider: OidcProvider) -> AsyncIterator[httpx.AsyncClient]:
    await provider.reset()
    async with running_app(social_settings(database, provider)) as client:
        yield client


@pytest.fixture
async def trusting(
    database: SqlDatabase, provider: OidcProvider
) -> AsyncIterator[httpx.AsyncClient]:
    """An app that trusts the provider's verified addresses (OAUTH_ACME_TRUST_EMAIL)."""
    await provider.reset()
    async with running_app(social_settings(database, provider, trust_email=True)) as client:
        yield client


async def begin(client: httpx.AsyncClient, **input: str) -> dict[str, Any]:
    body = await gql(
        client, BEGIN, {"input": {"provider": "acme", "redirectUri": REDIRECT, **input}}
    )
    started: dict[str, Any] = data_of(body, "beginSocialSignIn")
    return started


async def at_provider(
    client: httpx.AsyncClient, provider: OidcProvider, login: str
) -> dict[str, str]:
    """beginSocialSignIn, then the provider's pages: what comes back to the redirect URI."""
    started = await begin(client)
    returned = await provider.authorize(started["authorizationUrl"], login=login)
    assert returned["state"] == started["state"]  # what the client compares (login CSRF)
    return returned


async def finish(client: httpx.AsyncClient, state: str, code: str) -> dict[str, Any]:
    return await gql(client, FINISH, {"input": {"state": state, "code": code}})


async def social_sign_in(
    client: httpx.AsyncClient, provider: OidcProvider, login: str
) -> dict[str, Any]:
    returned = await at_provider(client, provider, login)
    return await finish(client, returned["state"], returned["code"])


def user_count(database: SqlDatabase) -> int:
    with database.engine.connect() as connection:
        rows = connection.execute(database.table("users").select()).all()
    return len(rows)


def identity_count(database: SqlDatabase) -> int:
    with database.engine.connect() as connection:
        rows = connection.execute(database.table("social_identities").select()).all()
    return len(rows)


class TestProviders:
    async def test_the_configured_providers_are_listed_to_anyone(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await gql(client, PROVIDERS)

        assert data_of(body, "signInProviders") == [{"id": "acme", "displayName": "Acme ID"}]

    async def test_an_unknown_provider_or_redirect_uri_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        unknown = await gql(client, BEGIN, {"input": {"provider": "nope", "redirectUri": REDIRECT}})
        elsewhere = await gql(
            client,
            BEGIN,
            {"input": {"provider": "acme", "redirectUri": REDIRECT + "/../evil"}},
        )

        assert_error(unknown, "BAD_USER_INPUT", reason="NOT_FOUND", field="provider")
        assert_error(elsewhere, "BAD_USER_INPUT", reason="INVALID", field="redirectUri")

    async def test_the_authorization_url_carries_state_nonce_and_an_s256_challenge(
        self, client: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        started = await begin(client)
        query = httpx.URL(started["authorizationUrl"]).params

        assert started["authorizationUrl"].startswith(provider.issuer + "/")
        assert query["state"] == started["state"]
        assert query["code_challenge_method"] == "S256"
        assert len(query["code_challenge"]) == 43 and len(query["nonce"]) >= 32
        assert query["redirect_uri"] == REDIRECT
        assert query["client_id"] == CLIENT.client_id
        assert "code_verifier" not in query


class TestNewAndReturningAccounts:
    async def test_an_unknown_identity_creates_a_passwordless_account_and_signs_it_in(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        body = await social_sign_in(client, provider, "alice")

        payload = data_of(body, "finishSocialSignIn")
        me = data_of(await gql(client, ACCOUNT, token=payload["accessToken"]), "me")
        assert me["username"] == "alice" and me["email"] == "alice@example.com"
        assert me["emailVerified"] is True  # as the provider said
        assert me["hasPassword"] is False
        assert me["identities"] == [{"provider": "acme", "email": "alice@example.com"}]
        assert claims_of(payload["accessToken"])["amr"] == ["fed"]  # never pwd
        kinds = event_kinds(database, me["id"])
        assert {"REGISTERED", "IDENTITY_LINKED", "SOCIAL_SIGN_IN", "LOGIN_SUCCEEDED"} <= set(kinds)

    async def test_the_returning_identity_signs_in_to_the_same_account(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        first = data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")
        again = data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")

        assert again["user"]["id"] == first["user"]["id"]
        assert user_count(database) == 1 and identity_count(database) == 1

    async def test_an_unverified_provider_address_makes_an_unverified_account(
        self, client: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        payload = data_of(await social_sign_in(client, provider, "bob"), "finishSocialSignIn")

        me = data_of(await gql(client, ACCOUNT, token=payload["accessToken"]), "me")
        assert me["emailVerified"] is False

    async def test_a_taken_username_gets_a_suffix(
        self, client: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        await register(client, username="alice", email="someone-else@example.com")

        payload = data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")

        assert payload["user"]["username"].startswith("alice-")

    async def test_a_deactivated_account_cannot_sign_in_with_its_identity(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        payload = data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")
        database.update_user(payload["user"]["id"], is_active=False)

        body = await social_sign_in(client, provider, "alice")

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")


class TestLinkingByAddress:
    async def test_an_existing_address_is_not_linked_unless_the_provider_is_trusted(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        owner = await register(client, username="alice_local", email="alice@example.com")
        database.update_user(owner["user"]["id"], email_verified=True)

        body = await social_sign_in(client, provider, "alice")

        assert_error(body, "BAD_USER_INPUT", reason="ACCOUNT_EXISTS", field="email")
        assert user_count(database) == 1 and identity_count(database) == 0

    async def test_a_trusted_verified_address_links_to_the_verified_account(
        self, trusting: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        owner = await register(trusting, username="alice_local", email="alice@example.com")
        database.update_user(owner["user"]["id"], email_verified=True)

        payload = data_of(await social_sign_in(trusting, provider, "alice"), "finishSocialSignIn")

        assert payload["user"]["id"] == owner["user"]["id"]
        assert identity_count(database) == 1
        assert "IDENTITY_LINKED" in event_kinds(database, owner["user"]["id"])

    async def test_an_unverified_local_account_is_never_linked(
        self, trusting: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        # Pre-account hijacking: someone registered the victim's address first and waits.
        await register(trusting, username="squatter", email="alice@example.com")

        body = await social_sign_in(trusting, provider, "alice")

        assert_error(body, "BAD_USER_INPUT", reason="ACCOUNT_EXISTS")
        assert identity_count(database) == 0

    async def test_an_address_the_provider_did_not_verify_is_never_linked(
        self, trusting: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        owner = await register(trusting, username="bob_local", email="bob@example.com")
        database.update_user(owner["user"]["id"], email_verified=True)

        body = await social_sign_in(trusting, provider, "bob")

        assert_error(body, "BAD_USER_INPUT", reason="ACCOUNT_EXISTS")
        assert identity_count(database) == 0


class TestSecondFactor:
    async def test_an_account_with_totp_is_asked_for_it_and_the_session_never_says_pwd(
        self, trusting: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        owner = await register(trusting, username="carol_local", email="carol@example.com")
        database.update_user(owner["user"]["id"], email_verified=True)
        secret, _ = await enable_totp(trusting, owner["accessToken"])

        body = await social_sign_in(trusting, provider, "carol")

        error = assert_error(body, "UNAUTHENTICATED", reason="MFA_REQUIRED")
        verified = await gql(
            trusting,
            VERIFY,
            {"input": {"mfaToken": error["extensions"]["mfaToken"], "code": code_at(secret, 1)}},
        )
        token = data_of(verified, "verifyMfa")["accessToken"]
        assert claims_of(token)["amr"] == ["fed", "otp"]


class TestStates:
    async def test_a_state_works_once(
        self, client: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        returned = await at_provider(client, provider, "alice")
        first = await finish(client, returned["state"], returned["code"])

        again = await finish(client, returned["state"], returned["code"])

        data_of(first, "finishSocialSignIn")
        assert_error(again, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_a_foreign_state_is_refused(
        self, client: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        returned = await at_provider(client, provider, "alice")

        body = await finish(client, secrets.token_urlsafe(32), returned["code"])

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_a_forged_code_is_refused_and_the_state_is_used_up(
        self, client: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        returned = await at_provider(client, provider, "alice")

        forged = await finish(client, returned["state"], "forged-" + returned["code"][:20])
        real = await finish(client, returned["state"], returned["code"])

        assert_error(forged, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert_error(real, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_parallel_finishes_of_one_state_open_one_session(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        returned = await at_provider(client, provider, "alice")

        bodies = await asyncio.gather(
            *(finish(client, returned["state"], returned["code"]) for _ in range(5))
        )

        signed_in = [body for body in bodies if "errors" not in body]
        assert len(signed_in) == 1
        with database.engine.connect() as connection:
            sessions = connection.execute(database.table("sessions").select()).all()
        assert len(sessions) == 1

    async def test_two_aliased_finishes_in_one_document_are_refused_before_running(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        returned = await at_provider(client, provider, "alice")
        twice = """
        mutation Twice($input: FinishSocialSignInInput!) {
          a: finishSocialSignIn(input: $input) { accessToken }
          b: finishSocialSignIn(input: $input) { accessToken }
        }"""

        inputs = {"state": returned["state"], "code": returned["code"]}

        body = await gql(client, twice, {"input": inputs})

        assert_error(body, "GRAPHQL_VALIDATION_FAILED", reason="ONE_CREDENTIAL_CHECK")
        assert user_count(database) == 0

    async def test_two_finishes_hidden_in_fragments_are_refused_before_running(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        returned = await at_provider(client, provider, "alice")
        hidden = """
        mutation Hidden($input: FinishSocialSignInInput!) { ...One ...Two }
        fragment One on Mutation { a: finishSocialSignIn(input: $input) { accessToken } }
        fragment Two on Mutation {
          ... on Mutation { b: finishSocialSignIn(input: $input) { accessToken } }
        }"""
        inputs = {"state": returned["state"], "code": returned["code"]}

        body = await gql(client, hidden, {"input": inputs})

        assert_error(body, "GRAPHQL_VALIDATION_FAILED", reason="ONE_CREDENTIAL_CHECK")
        assert user_count(database) == 0
        # Refused before running: the state was not used up.
        data_of(await finish(client, returned["state"], returned["code"]), "finishSocialSignIn")


class TestTheProvidersAnswerIsChecked:
    @pytest.mark.parametrize(
        "mode", ["wrong_aud", "wrong_nonce", "wrong_iss", "expired", "foreign_key", "foreign_kid"]
    )
    async def test_an_id_token_that_does_not_check_out_signs_nobody_in(
        self,
        client: httpx.AsyncClient,
        provider: OidcProvider,
        database: SqlDatabase,
        mode: TokenMode,
    ) -> None:
        returned = await at_provider(client, provider, "alice")
        await provider.next_token(mode)

        body = await finish(client, returned["state"], returned["code"])

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert user_count(database) == 0

    @pytest.mark.parametrize("mode", ["garbage", "error_500"])
    async def test_a_provider_answering_nonsense_is_unavailable_not_a_500(
        self, client: httpx.AsyncClient, provider: OidcProvider, mode: TokenMode
    ) -> None:
        returned = await at_provider(client, provider, "alice")
        await provider.next_token(mode)

        response = await post_graphql(
            client, FINISH, {"input": {"state": returned["state"], "code": returned["code"]}}
        )

        assert response.status_code == 200
        assert_error(response.json(), "UNAUTHENTICATED", reason="PROVIDER_UNAVAILABLE")
        assert_no_leak(response, sent=CLIENT.client_secret)

    async def test_a_new_signing_key_is_fetched_when_an_id_token_names_it(
        self, client: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")
        await provider.rotate_keys()

        body = await social_sign_in(client, provider, "alice")

        data_of(body, "finishSocialSignIn")

    async def test_a_provider_too_slow_to_answer_is_unavailable_not_a_hang(
        self, database: SqlDatabase, provider: OidcProvider
    ) -> None:
        await provider.reset()
        settings = social_settings(database, provider, oauth_timeout_seconds=1)
        async with running_app(settings) as client:
            returned = await at_provider(client, provider, "alice")
            await provider.next_token("hang", seconds=4)

            body = await finish(client, returned["state"], returned["code"])

        assert_error(body, "UNAUTHENTICATED", reason="PROVIDER_UNAVAILABLE")

    async def test_failed_finishes_are_limited_per_client_address_also_in_parallel(
        self, database: SqlDatabase, provider: OidcProvider
    ) -> None:
        settings = social_settings(database, provider, rate_limit_social_finish_ip="3/15minutes")
        async with running_app(settings) as client:
            bodies = await asyncio.gather(
                *(finish(client, secrets.token_urlsafe(32), "code") for _ in range(6))
            )

        reasons = sorted(body["errors"][0]["extensions"].get("reason", "") for body in bodies)
        codes = sorted(body["errors"][0]["extensions"]["code"] for body in bodies)
        assert reasons.count("INVALID_CREDENTIALS") == 3
        assert codes.count("RATE_LIMITED") == 3

    async def test_an_unreachable_provider_is_unavailable(
        self, database: SqlDatabase, provider: OidcProvider
    ) -> None:
        settings = social_settings(database, provider, issuer="http://127.0.0.1:9")
        async with running_app(settings) as client:
            response = await post_graphql(
                client, BEGIN, {"input": {"provider": "acme", "redirectUri": REDIRECT}}
            )

        assert_error(response.json(), "UNAUTHENTICATED", reason="PROVIDER_UNAVAILABLE")
        assert_no_leak(response, sent=CLIENT.client_secret)


async def test_an_account_without_a_password_gets_one_through_the_reset_mail(
    database: SqlDatabase, provider: OidcProvider, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_mail_app(social_settings(database, provider), caplog) as app:
        payload = data_of(await social_sign_in(app.client, provider, "alice"), "finishSocialSignIn")
        token = await reset_token(app, "alice@example.com")
        data_of(await reset(app, token), "resetPassword")

        signed_in = await login(app.client, payload["user"]["username"], NEW_PASSWORD)
        me = data_of(await gql(app.client, ACCOUNT, token=signed_in["accessToken"]), "me")

    assert me["id"] == payload["user"]["id"] and me["hasPassword"] is True
    assert claims_of(signed_in["accessToken"])["amr"] == ["pwd"]


async def test_me_shows_has_password_for_a_registered_account(
    client: httpx.AsyncClient,
) -> None:
    owner = await register(client)

    me = data_of(await gql(client, ACCOUNT, token=owner["accessToken"]), "me")

    assert me["hasPassword"] is True and me["identities"] == []
    assert data_of(await gql(client, ME, token=owner["accessToken"]), "me")["id"] == me["id"]


async def begin_link(
    client: httpx.AsyncClient, token: str, password: str | None = STRONG_PASSWORD
) -> dict[str, Any]:
    variables = {"provider": "acme", "redirectUri": REDIRECT, "currentPassword": password}
    return await gql(client, BEGIN_LINK, {"input": variables}, token=token)


async def link_as(
    client: httpx.AsyncClient,
    provider: OidcProvider,
    token: str,
    login_name: str,
    password: str | None = STRONG_PASSWORD,
) -> dict[str, Any]:
    """beginSocialLink with this token, the provider's pages as login_name, linkSocialIdentity."""
    started = data_of(await begin_link(client, token, password), "beginSocialLink")
    returned = await provider.authorize(started["authorizationUrl"], login=login_name)
    inputs = {"state": returned["state"], "code": returned["code"]}
    return await gql(client, LINK, {"input": inputs}, token=token)


def identities_of(me: dict[str, Any]) -> list[str]:
    return [identity["email"] for identity in me["identities"]]


class TestLinking:
    async def test_a_password_account_links_a_provider_and_then_signs_in_with_it(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        owner = await register(client, username="owner", email="owner@example.com")

        linked = data_of(
            await link_as(client, provider, owner["accessToken"], "alice"), "linkSocialIdentity"
        )
        signed_in = data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")

        assert linked["provider"] == "acme" and linked["email"] == "alice@example.com"
        assert signed_in["user"]["id"] == owner["user"]["id"]
        assert user_count(database) == 1
        assert "IDENTITY_LINKED" in event_kinds(database, owner["user"]["id"])

    async def test_linking_needs_the_current_password(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)

        wrong = await begin_link(client, owner["accessToken"], "not-the-password")
        missing = await begin_link(client, owner["accessToken"], None)

        assert_error(wrong, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert_error(missing, "BAD_USER_INPUT", reason="REQUIRED", field="currentPassword")
        assert "LOGIN_FAILED" in event_kinds(database, owner["user"]["id"])

    async def test_a_stolen_token_of_an_account_without_a_password_cannot_link_later(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        victim = data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")
        # The thief holds the victim's token from a sign-in more than ten minutes ago.
        database.update_session(session_id_of(victim), created_at=utcnow() - timedelta(minutes=11))

        body = await begin_link(client, victim["accessToken"], None)

        assert_error(body, "FORBIDDEN", reason="STEP_UP_REQUIRED")

    async def test_an_account_with_a_second_factor_needs_a_session_that_proved_it(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        await enable_totp(client, owner["accessToken"])  # this session proved only the password

        body = await begin_link(client, owner["accessToken"])

        assert_error(body, "FORBIDDEN", reason="STEP_UP_REQUIRED")

    async def test_only_the_session_that_began_the_link_finishes_it(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        other_session = await login(client, owner["user"]["username"])
        started = data_of(await begin_link(client, owner["accessToken"]), "beginSocialLink")
        returned = await provider.authorize(started["authorizationUrl"], login="alice")
        inputs = {"state": returned["state"], "code": returned["code"]}

        body = await gql(client, LINK, {"input": inputs}, token=other_session["accessToken"])

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert identity_count(database) == 0

    async def test_a_sign_in_state_cannot_link_and_a_link_state_cannot_sign_in(
        self, client: httpx.AsyncClient, provider: OidcProvider
    ) -> None:
        owner = await register(client)
        sign_in_state = await at_provider(client, provider, "alice")
        started = data_of(await begin_link(client, owner["accessToken"]), "beginSocialLink")
        link_state = await provider.authorize(started["authorizationUrl"], login="carol")

        linked = await gql(
            client,
            LINK,
            {"input": {"state": sign_in_state["state"], "code": sign_in_state["code"]}},
            token=owner["accessToken"],
        )
        signed_in = await finish(client, link_state["state"], link_state["code"])

        assert_error(linked, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert_error(signed_in, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")

    async def test_an_identity_linked_to_another_account_is_taken(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        await social_sign_in(client, provider, "alice")  # alice's identity has its own account
        owner = await register(client)

        body = await link_as(client, provider, owner["accessToken"], "alice")

        assert_error(body, "BAD_USER_INPUT", reason="IDENTITY_TAKEN", field="provider")
        assert identity_count(database) == 1


class TestUnlinking:
    async def test_a_password_account_unlinks_its_provider(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        linked = data_of(
            await link_as(client, provider, owner["accessToken"], "alice"), "linkSocialIdentity"
        )

        body = await gql(
            client,
            UNLINK,
            {"id": linked["id"], "password": STRONG_PASSWORD},
            token=owner["accessToken"],
        )

        assert data_of(body, "unlinkSocialIdentity") is True
        assert identity_count(database) == 0
        assert "IDENTITY_UNLINKED" in event_kinds(database, owner["user"]["id"])

    async def test_the_only_way_in_is_never_unlinked(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        payload = data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")
        me = data_of(await gql(client, ACCOUNT, token=payload["accessToken"]), "me")
        (identity,) = database_identities(database)

        body = await gql(
            client, UNLINK, {"id": str(identity), "password": None}, token=payload["accessToken"]
        )

        assert_error(body, "BAD_USER_INPUT", reason="LAST_SIGN_IN_METHOD", field="id")
        assert identities_of(me) == ["alice@example.com"]
        assert identity_count(database) == 1

    async def test_two_unlinks_at_once_keep_one_way_in(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        payload = data_of(await social_sign_in(client, provider, "alice"), "finishSocialSignIn")
        data_of(
            await link_as(client, provider, payload["accessToken"], "carol", None),
            "linkSocialIdentity",
        )
        first, second = database_identities(database)

        bodies = await asyncio.gather(
            *(
                gql(client, UNLINK, {"id": str(one)}, token=payload["accessToken"])
                for one in (first, second)
            )
        )

        assert sorted("errors" in body for body in bodies) == [False, True]
        assert identity_count(database) == 1

    async def test_someone_elses_identity_is_not_found(
        self, client: httpx.AsyncClient, provider: OidcProvider, database: SqlDatabase
    ) -> None:
        await social_sign_in(client, provider, "alice")
        (theirs,) = database_identities(database)
        owner = await register(client)

        body = await gql(
            client,
            UNLINK,
            {"id": str(theirs), "password": STRONG_PASSWORD},
            token=owner["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", reason="NOT_FOUND", field="id")
        assert identity_count(database) == 1


def database_identities(database: SqlDatabase) -> list[int]:
    identities = database.table("social_identities")
    with database.engine.connect() as connection:
        return list(
            connection.execute(identities.select().order_by(identities.c.id)).scalars().all()
        )


class TestNotices:
    async def test_the_owner_hears_of_a_link_and_an_unlink_and_a_new_account_of_neither(
        self, database: SqlDatabase, provider: OidcProvider, caplog: pytest.LogCaptureFixture
    ) -> None:
        await provider.reset()
        async with running_mail_app(social_settings(database, provider), caplog) as app:
            await social_sign_in(app.client, provider, "carol")  # a new account: no notice
            owner = await register(app.client, username="owner", email="owner@example.com")
            database.update_user(owner["user"]["id"], email_verified=True)
            linked = data_of(
                await link_as(app.client, provider, owner["accessToken"], "alice"),
                "linkSocialIdentity",
            )
            await gql(
                app.client,
                UNLINK,
                {"id": linked["id"], "password": STRONG_PASSWORD},
                token=owner["accessToken"],
            )

            to_owner = [mail.subject for mail in await app.mailbox.mails("owner@example.com")]
            to_carol = await app.mailbox.mails("carol@example.com")

        assert to_owner == ["A sign-in provider was linked", "A sign-in provider was unlinked"]
        assert to_carol == []
