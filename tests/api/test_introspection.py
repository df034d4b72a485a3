"""POST /oauth/introspect (RFC 7662): live tokens and API keys only, for callers holding
the secret. Its rate limit under parallel callers is in tests/db/test_introspection.py."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gql_auth.core.models import utcnow
from gql_auth.settings import Settings
from gql_auth.web.introspection import MAX_BODY_BYTES
from tests.support.api_keys import REVOKE_API_KEY, create_api_key, update_api_key, with_checksum
from tests.support.forgeries import FORGERIES, resign
from tests.support.helpers import (
    LOGOUT,
    SECRET_KEY,
    SqlDatabase,
    claims_of,
    data_of,
    gql,
    register,
    running_app,
)
from tests.support.introspection import AUTHORIZED, PATH, SECRET, introspect, with_introspection
from tests.support.keys import write_key_pair

INACTIVE = {"active": False}


class TestWhoMayAsk:
    async def test_without_introspection_secret_there_is_no_endpoint(
        self, client: httpx.AsyncClient
    ) -> None:
        token = (await register(client))["accessToken"]

        response = await introspect(client, token)

        assert response.status_code == 404
        assert "active" not in response.text

    @pytest.mark.parametrize(
        "authorization",
        [
            None,
            "",
            "Bearer",
            f"Bearer {SECRET[:-1]}",
            f"Bearer {SECRET}x",
            f"Bearer  {SECRET}",
            f"Basic {SECRET}",
            SECRET,
        ],
    )
    async def test_without_the_secret_the_answer_is_401_and_says_nothing_of_the_token(
        self, database: SqlDatabase, authorization: str | None
    ) -> None:
        headers = {} if authorization is None else {"Authorization": authorization}
        async with running_app(with_introspection(database)) as client:
            token = (await register(client))["accessToken"]
            response = await introspect(client, token, headers)

        assert response.status_code == 401
        assert response.json() == {"error": "invalid_client"}
        assert response.headers["www-authenticate"].startswith("Bearer")


class TestAnswers:
    async def test_a_live_token_is_active_with_its_claims(self, database: SqlDatabase) -> None:
        async with running_app(with_introspection(database)) as client:
            payload = await register(client, "introspected")
            response = await introspect(client, payload["accessToken"])
            # The scheme is case-insensitive (RFC 7235), the secret is not.
            lower_case = await introspect(
                client, payload["accessToken"], {"Authorization": f"bearer {SECRET}"}
            )

        claims = claims_of(payload["accessToken"])
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.json() == {
            "active": True,
            "sub": payload["user"]["id"],
            "sid": claims["sid"],
            "role": "USER",
            "scope": "profile:read dashboard:read organizations:read organizations:write",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "iss": "gql-auth",
            "aud": "gql-auth",
            "token_type": "access",
            "amr": ["pwd"],  # how the session signed in (issue 14), passed through
        }
        assert lower_case.json() == response.json()

    async def test_after_logout_the_token_is_inactive_at_once(self, database: SqlDatabase) -> None:
        async with running_app(with_introspection(database)) as client:
            payload = await register(client)
            before = (await introspect(client, payload["accessToken"])).json()
            assert data_of(await gql(client, LOGOUT, {"token": payload["refreshToken"]}), "logout")
            after = await introspect(client, payload["accessToken"])

        assert before["active"] is True
        assert after.status_code == 200
        assert after.json() == INACTIVE

    async def test_a_deactivated_user_s_token_is_inactive(self, database: SqlDatabase) -> None:
        async with running_app(with_introspection(database)) as client:
            payload = await register(client)
            database.update_user(payload["user"]["id"], is_active=False)
            response = await introspect(client, payload["accessToken"])

        assert response.json() == INACTIVE

    async def test_the_role_is_the_one_the_database_has_now(self, database: SqlDatabase) -> None:
        async with running_app(with_introspection(database)) as client:
            payload = await register(client)
            database.update_user(payload["user"]["id"], role="ADMIN")
            answer = (await introspect(client, payload["accessToken"])).json()

        assert claims_of(payload["accessToken"])["role"] == "USER"
        assert answer["role"] == "ADMIN"
        assert "admin:read" not in claims_of(payload["accessToken"])["scope"].split()
        assert "admin:read" in answer["scope"].split()

    async def test_every_bad_token_is_only_inactive(self, database: SqlDatabase) -> None:
        now = int(time.time())
        async with running_app(with_introspection(database)) as client:
            payload = await register(client)
            genuine = payload["accessToken"]
            bad = {name: forge(genuine) for name, forge in FORGERIES.items()}
            bad |= {
                "expired": resign(genuine, iat=now - 3600, exp=now - 60),
                "refresh token": payload["refreshToken"],
                "garbage": "not-a-jwt",
                "too long": "a" * 5000,  # over the token cap, under the body cap
                "unknown session": resign(genuine, sid="0" * 32),
                "other user's session": resign(genuine, sub="999999"),
            }
            answers = {name: await introspect(client, token) for name, token in bad.items()}

        for name, response in answers.items():
            if len(bad[name]) > MAX_BODY_BYTES:  # never read: refused as a request
                assert response.status_code == 413, name
                continue
            assert (response.status_code, response.json()) == (200, INACTIVE), name

    async def test_amr_is_passed_through_and_the_scope_is_the_role_s_now(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(with_introspection(database)) as client:
            genuine = (await register(client))["accessToken"]
            with_amr = resign(genuine, amr=["pwd", "otp"], scope="admin:write")
            plain = (await introspect(client, genuine)).json()
            rich = (await introspect(client, with_amr)).json()

        assert plain["amr"] == ["pwd"]  # every token has it
        assert rich["amr"] == ["pwd", "otp"]
        # The scope is the role's now, whatever a token (even one signed with our key) claims.
        assert rich["scope"] == plain["scope"]
        assert "admin:write" not in rich["scope"].split()

    @pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
    async def test_asymmetric_tokens_are_introspected_alike(
        self, database: SqlDatabase, algorithm: str, tmp_path: Path
    ) -> None:
        key = write_key_pair(tmp_path, "signing", algorithm)
        settings = with_introspection(
            database, jwt_algorithm=algorithm, jwt_private_key_file=key.private_file
        )
        async with running_app(settings) as client:
            payload = await register(client)
            live = (await introspect(client, payload["accessToken"])).json()
            await gql(client, LOGOUT, {"token": payload["refreshToken"]})
            revoked = (await introspect(client, payload["accessToken"])).json()

        assert live["active"] is True
        assert live["sub"] == payload["user"]["id"]
        assert revoked == INACTIVE


class TestApiKeys:
    async def test_a_live_key_is_active_with_its_owner_and_scope(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(with_introspection(database)) as client:
            owner = await register(client)
            before = int(time.time())
            created = await create_api_key(
                client, owner["accessToken"], ["organizations:read", "profile:read"]
            )
            lasting = await create_api_key(
                client, owner["accessToken"], ["profile:read"], expires_in_days=30
            )
            response = await introspect(client, created["secret"])
            expiring = (await introspect(client, lasting["secret"])).json()

        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        answer = response.json()
        assert answer == {
            "active": True,
            "token_type": "api_key",
            "sub": owner["user"]["id"],
            "scope": "profile:read organizations:read",
            "iat": answer["iat"],
            "role": "USER",
        }
        assert before - 1 <= answer["iat"] <= int(time.time())
        assert expiring["exp"] - expiring["iat"] in range(30 * 86400 - 1, 30 * 86400 + 2)

    async def test_a_key_that_no_longer_works_or_never_did_is_only_inactive(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(with_introspection(database)) as client:
            owners = [await register(client) for _ in range(3)]
            revoked, expired, deactivated = [
                await create_api_key(client, owner["accessToken"], ["profile:read"])
                for owner in owners
            ]
            await gql(
                client,
                REVOKE_API_KEY,
                {"id": revoked["apiKey"]["id"]},
                token=owners[0]["accessToken"],
            )
            update_api_key(
                database, expired["apiKey"]["id"], expires_at=utcnow() - timedelta(seconds=1)
            )
            database.update_user(owners[2]["user"]["id"], is_active=False)
            live = (await create_api_key(client, owners[0]["accessToken"], ["profile:read"]))[
                "secret"
            ]
            bad = {
                "revoked": revoked["secret"],
                "expired": expired["secret"],
                "deactivated owner": deactivated["secret"],
                "flipped checksum": live[:-1] + ("1" if live[-1] != "1" else "2"),
                "flipped random digit": live[:9] + ("1" if live[9] != "1" else "2") + live[10:],
                "truncated": live[:-1],
                "nobody's": with_checksum("gqa_" + "Q" * 32),
                "garbage": "gqa_not-a-key",
                "prefix only": "gqa_",
                "non-ASCII": live[:12] + "\u0430" + live[13:],
            }
            answers = {name: await introspect(client, token) for name, token in bad.items()}
            still = (await introspect(client, live)).json()

        for name, response in answers.items():
            assert (response.status_code, response.json()) == (200, INACTIVE), name
        assert still["active"] is True


class TestRequests:
    async def test_malformed_requests_are_refused_in_the_oauth_error_shape(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(with_introspection(database)) as client:
            token = (await register(client))["accessToken"]
            cases = {
                "no token": await client.post(PATH, data={"hint": "x"}, headers=AUTHORIZED),
                "empty token": await client.post(PATH, data={"token": ""}, headers=AUTHORIZED),
                "two tokens": await client.post(
                    PATH,
                    content=f"token={token}&token={token}",
                    headers={**AUTHORIZED, "content-type": "application/x-www-form-urlencoded"},
                ),
                "json": await client.post(PATH, json={"token": token}, headers=AUTHORIZED),
                "huge": await client.post(
                    PATH, data={"token": token, "pad": "x" * 20_000}, headers=AUTHORIZED
                ),
            }
            get = await client.get(PATH, headers=AUTHORIZED)

        statuses = {name: response.status_code for name, response in cases.items()}
        assert statuses == {
            "no token": 400,
            "empty token": 400,
            "two tokens": 400,
            "json": 415,
            "huge": 413,
        }
        for response in cases.values():
            assert response.json() == {"error": "invalid_request"}
        assert get.status_code == 405


def test_the_secret_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="INTROSPECTION_SECRET|introspection_secret"):
        Settings(_env_file=None, secret_key=SECRET_KEY, introspection_secret="short")
