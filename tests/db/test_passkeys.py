"""Passkey sign-ins on every backend: every refusal tried the way an attacker would (a
challenge answered twice, also at once; another origin or RP id; a counter that went back;
a deleted key, another account's key, a deactivated account) and the limits in parallel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gql_auth.core.database import create_engine, create_session_factory
from gql_auth.core.models import utcnow
from gql_auth.passkeys import challenges as passkey_challenges
from gql_auth.passkeys.passkeys import CREDENTIAL_JSON_MAX
from gql_auth.settings import Settings
from tests.support.authenticator import USER_PRESENT, SoftAuthenticator, b64url, unb64url
from tests.support.databases import Backend
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
    make_settings,
    post_graphql,
    register,
    running_app,
)
from tests.support.passkeys import (
    BEGIN_LOGIN,
    DASHBOARD_PASSKEYS,
    DELETE,
    FINISH_LOGIN,
    ORIGIN,
    PUBLIC_URL,
    add_passkey,
    begin_login,
    finish_login,
    passkey_session,
    refused,
    sign_in,
    user_with_passkey,
)
from tests.support.row_locks import lock_timeout_url, other_transaction, require_row_locks


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, public_url=PUBLIC_URL)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as client:
        yield client


class TestSignIn:
    async def test_a_passkey_signs_in_without_a_password_and_the_token_reads_me(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, authenticator, passkey = await user_with_passkey(client)
        username = account["user"]["username"]

        body = await sign_in(client, username, authenticator)

        payload = data_of(body, "finishPasskeyLogin")
        assert payload["user"]["username"] == username
        assert payload["user"]["email"] == account["user"]["email"]  # vouched for
        assert claims_of(payload["accessToken"])["sub"] == account["user"]["id"]
        me = await gql(client, ME, token=payload["accessToken"])
        assert data_of(me, "me")["username"] == username
        assert event_kinds(database, account["user"]["id"])[-1] == "LOGIN_SUCCEEDED"
        listed = await gql(client, DASHBOARD_PASSKEYS, token=payload["accessToken"])
        assert data_of(listed, "userDashboard")["passkeys"][0]["lastUsedAt"] is not None
        (row,) = database.rows("passkeys")
        assert row["sign_count"] == 1

    async def test_without_a_username_any_discoverable_passkey_answers(
        self, client: httpx.AsyncClient
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        challenge = await begin_login(client, None)

        assert json.loads(challenge["options"])["allowCredentials"] == []
        body = await finish_login(
            client, challenge["challengeId"], authenticator.get(challenge["options"])
        )

        assert data_of(body, "finishPasskeyLogin")["user"]["id"] == account["user"]["id"]

    async def test_request_options_list_the_accounts_passkeys(
        self, client: httpx.AsyncClient
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)

        options = json.loads((await begin_login(client, account["user"]["email"]))["options"])

        assert options["rpId"] == "auth.example.com"
        assert options["userVerification"] == "required"
        assert [unb64url(item["id"]) for item in options["allowCredentials"]] == [
            authenticator.only_credential_id
        ]

    async def test_unknown_names_get_options_as_plausible_as_real_ones(
        self, client: httpx.AsyncClient
    ) -> None:
        account, _, _ = await user_with_passkey(client)
        real = json.loads((await begin_login(client, account["user"]["username"]))["options"])
        first, again = [
            json.loads((await begin_login(client, "nobody-here"))["options"]) for _ in range(2)
        ]
        other = json.loads((await begin_login(client, "someone-else"))["options"])
        without_passkeys = await register(client)
        plain = json.loads(
            (await begin_login(client, without_passkeys["user"]["username"]))["options"]
        )

        for options in (first, plain):
            assert options.keys() == real.keys()
            assert len(options["allowCredentials"]) == 1
            assert options["allowCredentials"][0].keys() == real["allowCredentials"][0].keys()
        assert first["allowCredentials"] == again["allowCredentials"]  # stable, like a real key
        assert first["allowCredentials"] != other["allowCredentials"]
        assert first["challenge"] != again["challenge"]

    @pytest.mark.parametrize("account", ["with a passkey", "unknown"])
    async def test_every_spelling_of_a_name_gets_the_same_credentials(
        self, client: httpx.AsyncClient, account: str
    ) -> None:
        """Decoys key the name as the lookup does: spellings must not tell real from unknown."""
        holder, authenticator, _ = await user_with_passkey(client)
        name = holder["user"]["username"] if account == "with a passkey" else "ghost"
        fullwidth = "".join(chr(ord(char) + 0xFEE0) for char in name)  # 'ｇｈｏｓｔ'

        listed = [
            json.loads((await begin_login(client, spelling))["options"])["allowCredentials"]
            for spelling in (name, fullwidth, f" {name.title()} ", name.upper())
        ]

        assert listed[1:] == [listed[0]] * 3
        real = [unb64url(item["id"]) for item in listed[0]] == [authenticator.only_credential_id]
        assert real is (account == "with a passkey")

    async def test_a_challenge_is_used_once(self, client: httpx.AsyncClient) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        challenge = await begin_login(client, account["user"]["username"])
        data_of(
            await finish_login(
                client, challenge["challengeId"], authenticator.get(challenge["options"])
            ),
            "finishPasskeyLogin",
        )

        replayed = await finish_login(
            client, challenge["challengeId"], authenticator.get(challenge["options"])
        )

        refused(replayed)

    async def test_one_challenge_answered_at_once_opens_at_most_one_session(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        challenge = await begin_login(client, account["user"]["username"])
        # Different assertions (rising counters) over the one challenge, all sent at once.
        credentials = [authenticator.get(challenge["options"]) for _ in range(5)]

        bodies = await asyncio.gather(
            *(finish_login(client, challenge["challengeId"], c) for c in credentials)
        )

        signed_in = [body for body in bodies if not body.get("errors")]
        assert len(signed_in) == 1, bodies
        for body in bodies:
            if body.get("errors"):
                refused(body)
        live = [
            row for row in database.rows("sessions") if row["user_id"] == int(account["user"]["id"])
        ]
        assert len(live) == 2  # registration's and the one passkey sign-in

    @pytest.mark.parametrize(
        "bend",
        [
            {"origin": "https://auth.example.com.evil.example"},
            {"origin": "http://auth.example.com"},
            {"rp_id": "evil.example"},
            {"flags": USER_PRESENT},
        ],
        ids=["wrong-origin", "plain-http-origin", "wrong-rp-id", "not-user-verified"],
    )
    async def test_an_assertion_for_another_party_or_unverified_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, bend: dict[str, Any]
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)

        body = await sign_in(client, account["user"]["username"], authenticator, **bend)

        refused(body)
        assert event_kinds(database, account["user"]["id"])[-1] == "LOGIN_FAILED"

    async def test_a_counter_that_did_not_move_on_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        username = account["user"]["username"]
        data_of(await sign_in(client, username, authenticator, sign_count=5), "finishPasskeyLogin")

        same = await sign_in(client, username, authenticator, sign_count=5)
        lower = await sign_in(client, username, authenticator, sign_count=4)
        higher = await sign_in(client, username, authenticator, sign_count=6)

        refused(same)
        refused(lower)
        data_of(higher, "finishPasskeyLogin")

    async def test_an_authenticator_without_a_counter_keeps_signing_in(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await register(client)
        authenticator = SoftAuthenticator(origin=ORIGIN, counter_step=0)
        await add_passkey(client, account["accessToken"], authenticator)

        for _ in range(2):
            body = await sign_in(client, account["user"]["username"], authenticator)
            data_of(body, "finishPasskeyLogin")

    async def test_another_accounts_passkey_cannot_answer_a_username_bound_challenge(
        self, client: httpx.AsyncClient
    ) -> None:
        alice, _, _ = await user_with_passkey(client)
        _, mallory_key, _ = await user_with_passkey(client)
        challenge = await begin_login(client, alice["user"]["username"])

        body = await finish_login(
            client,
            challenge["challengeId"],
            mallory_key.get(challenge["options"], credential_id=mallory_key.only_credential_id),
        )

        refused(body)

    async def test_an_unknown_or_expired_challenge_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        challenge = await begin_login(client, account["user"]["username"])
        table = database.table("passkey_challenges")
        with database.engine.begin() as connection:
            connection.execute(table.update().values(expires_at=utcnow() - timedelta(seconds=1)))

        expired = await finish_login(
            client, challenge["challengeId"], authenticator.get(challenge["options"])
        )
        unknown = await finish_login(
            client, b64url(b"no such challenge"), authenticator.get(challenge["options"])
        )

        refused(expired)
        refused(unknown)

    async def test_a_deleted_passkey_cannot_sign_in(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, authenticator, passkey = await user_with_passkey(client)
        stepped_up = await passkey_session(client, account["user"]["username"], authenticator)
        body = await gql(
            client,
            DELETE,
            {"id": passkey["id"], "password": STRONG_PASSWORD},
            token=stepped_up["accessToken"],
        )
        assert data_of(body, "deletePasskey") is True

        discoverable = await sign_in(client, None, authenticator)

        refused(discoverable)
        assert database.count("passkeys") == 0
        assert "PASSKEY_REMOVED" in event_kinds(database, account["user"]["id"])

    async def test_a_deactivated_account_cannot_sign_in_with_its_passkey(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        account, authenticator, _ = await user_with_passkey(client)
        database.update_user(account["user"]["id"], is_active=False)

        refused(await sign_in(client, account["user"]["username"], authenticator))

    @pytest.mark.parametrize("credential", ["", "{}", "null", "not json", '{"rawId": "!!"}'])
    async def test_malformed_assertions_are_refused_without_leaks(
        self, client: httpx.AsyncClient, credential: str
    ) -> None:
        challenge = await begin_login(client, None)

        response = await post_graphql(
            client,
            FINISH_LOGIN,
            {"input": {"challengeId": challenge["challengeId"], "credential": credential}},
        )

        assert_no_leak(response, sent=credential)
        refused(response.json())

    @pytest.mark.parametrize("opener", ["[", '{"a":'], ids=["arrays", "objects"])
    async def test_an_assertion_nested_as_deep_as_its_size_allows_is_refused_not_a_500(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, opener: str
    ) -> None:
        challenge = await begin_login(client, None)
        credential = opener * (CREDENTIAL_JSON_MAX // len(opener))

        refused(await finish_login(client, challenge["challengeId"], credential))
        assert "Traceback" not in caplog.text


class TestLimits:
    async def test_failed_passkey_sign_ins_are_limited_per_client_even_in_parallel(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(
            database.url, public_url=PUBLIC_URL, rate_limit_passkey_login_ip="3/15minutes"
        )
        async with running_app(settings) as client:
            challenges = [await begin_login(client, None) for _ in range(6)]

            bodies = await asyncio.gather(
                *(finish_login(client, c["challengeId"], "{}") for c in challenges)
            )

        codes = sorted(body["errors"][0]["extensions"]["code"] for body in bodies)
        assert codes == ["RATE_LIMITED"] * 3 + ["UNAUTHENTICATED"] * 3

    async def test_a_successful_passkey_sign_in_uses_up_no_failures(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(
            database.url, public_url=PUBLIC_URL, rate_limit_passkey_login_ip="2/15minutes"
        )
        async with running_app(settings) as client:
            account, authenticator, _ = await user_with_passkey(client)
            for _ in range(4):
                data_of(
                    await sign_in(client, account["user"]["username"], authenticator),
                    "finishPasskeyLogin",
                )

    async def test_handing_out_challenges_is_limited_per_client(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(
            database.url, public_url=PUBLIC_URL, rate_limit_passkey_challenge_ip="2/15minutes"
        )
        async with running_app(settings) as client:
            bodies = [await gql(client, BEGIN_LOGIN, {"username": None}) for _ in range(3)]

        data_of(bodies[1], "beginPasskeyLogin")
        assert_error(bodies[2], "RATE_LIMITED")
        assert database.count("passkey_challenges") == 2


class TestExpiredChallenges:
    async def test_dropping_them_waits_on_no_challenge_being_taken(
        self, backend: Backend, database: SqlDatabase
    ) -> None:
        """Every challenge issued drops the expired ones. Meanwhile another worker's
        finishPasskeyLogin may be taking a live one: the drop must not wait on its rows.

        Ranging over the expires_at index locked the live challenge's index entry
        before its row, the opposite of the taking's order, and the two deadlocked
        (twice in a row under load: a 500). With a one-second lock wait, a drop that
        waits fails here instead of deadlocking by chance.
        """
        require_row_locks(backend.name)
        now = utcnow()
        challenges = database.table("passkey_challenges")
        ages = {"expired-1": -timedelta(minutes=2), "expired-2": -timedelta(minutes=1)}
        with database.engine.begin() as connection:
            connection.execute(
                challenges.insert(),
                [
                    _challenge_row(
                        name, created_at=now - timedelta(minutes=6), expires_at=now + age
                    )
                    for name, age in {**ages, "live": timedelta(minutes=4)}.items()
                ],
            )
        engine = create_engine(make_settings(lock_timeout_url(backend.name, database, seconds=1)))
        try:
            with other_transaction(backend.name, database) as taking:
                # In the middle of taking the live one, as finishPasskeyLogin does.
                taking.execute("DELETE FROM passkey_challenges WHERE id = %s", "live")
                async with create_session_factory(engine)() as db:
                    dropped = await passkey_challenges.prune_expired(db)
                    await db.commit()
        finally:
            await engine.dispose()

        assert dropped == len(ages)
        with database.engine.connect() as connection:
            left = connection.execute(sa.select(challenges.c.id)).scalars().all()
        assert left == ["live"]  # the taking rolled back; the drop left it alone


def _challenge_row(name: str, **times: Any) -> dict[str, Any]:
    return {
        "id": name,
        "purpose": "LOGIN",
        "challenge": b64url(name.encode()),
        "user_id": None,
        "discoverable": True,
        "user_handle": None,
        **times,
    }
