"""ES256/RS256: the JWKS, the kid on every token, and which keys verify (the allow-list only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest
from jose import jwk, jwt

from gql_auth.security.signing_keys import thumbprint
from gql_auth.security.tokens import HASURA_CLAIMS
from gql_auth.settings import Settings
from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    make_settings,
    register,
    register_admin,
    running_app,
)
from tests.support.keys import ASYMMETRIC, KeyPair, write_key_pair

JWKS = "/.well-known/jwks.json"
ME = "query { me { username } }"
# Members that would make a JWKS entry a private key (RFC 7518 6.2.2 and 6.3.2).
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(scope="module")
def key_pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[KeyPair, KeyPair]]:
    """Per algorithm: the current key and another (the next, or a retired one)."""
    directory = tmp_path_factory.mktemp("keys")
    return {
        algorithm: (
            write_key_pair(directory, f"{algorithm}-current", algorithm),
            write_key_pair(directory, f"{algorithm}-other", algorithm),
        )
        for algorithm in ASYMMETRIC
    }


@pytest.fixture(params=ASYMMETRIC)
def algorithm(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def current(key_pairs: dict[str, tuple[KeyPair, KeyPair]], algorithm: str) -> KeyPair:
    return key_pairs[algorithm][0]


@pytest.fixture
def other(key_pairs: dict[str, tuple[KeyPair, KeyPair]], algorithm: str) -> KeyPair:
    return key_pairs[algorithm][1]


def signed_with(database: SqlDatabase, key: KeyPair, *previous: KeyPair, **extra: Any) -> Settings:
    return make_settings(
        database.url,
        jwt_algorithm=key.algorithm,
        jwt_private_key_file=key.private_file,
        jwt_previous_public_key_files=",".join(str(pair.public_file) for pair in previous),
        **extra,
    )


class TestJwks:
    async def test_it_publishes_the_signing_key_by_its_thumbprint_and_nothing_private(
        self, database: SqlDatabase, current: KeyPair
    ) -> None:
        async with running_app(signed_with(database, current)) as client:
            response = await client.get(JWKS)

        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["content-type"] == "application/json"
        (member,) = response.json()["keys"]
        assert member["kid"] == current.kid == thumbprint(member)
        assert member["alg"] == current.algorithm
        assert member["use"] == "sig"
        assert member["kty"] == ("EC" if current.algorithm == "ES256" else "RSA")
        assert not PRIVATE_MEMBERS & member.keys(), member

    async def test_previous_public_keys_are_published_after_the_signing_key(
        self, database: SqlDatabase, current: KeyPair, other: KeyPair
    ) -> None:
        async with running_app(signed_with(database, current, other, current)) as client:
            keys = (await client.get(JWKS)).json()["keys"]

        assert [key["kid"] for key in keys] == [current.kid, other.kid]  # the current one once

    async def test_with_hs256_there_is_no_jwks(self, client: httpx.AsyncClient) -> None:
        response = await client.get(JWKS)

        assert response.status_code == 404
        assert "keys" not in response.text

    async def test_a_published_key_verifies_tokens_with_any_jwt_library(
        self, database: SqlDatabase, current: KeyPair
    ) -> None:
        async with running_app(signed_with(database, current)) as client:
            (member,) = (await client.get(JWKS)).json()["keys"]
            token = (await register(client, "jwks_user"))["accessToken"]

        assert jwt.get_unverified_header(token) == {
            "alg": current.algorithm,
            "typ": "JWT",
            "kid": member["kid"],
        }
        claims = jwt.decode(
            token,
            jwk.construct(member),
            algorithms=[member["alg"]],
            audience="gql-auth",
            issuer="gql-auth",
        )
        assert claims["type"] == "access"
        assert claims["role"] == "USER"

    async def test_hs256_tokens_carry_no_kid_as_before(self, client: httpx.AsyncClient) -> None:
        token = (await register(client))["accessToken"]

        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(claims: dict[str, Any], key: KeyPair) -> str:
    """The algorithm-confusion forgery: HS256 keyed with the (public) PEM, under our kid."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(key.public_file.read_bytes(), f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{_b64(mac.digest())}"


class TestOnlyAllowListedKeysVerify:
    async def test_forgeries_are_token_invalid(
        self, database: SqlDatabase, current: KeyPair, other: KeyPair
    ) -> None:
        async with running_app(signed_with(database, current)) as client:
            genuine = (await register(client, "forged_at"))["accessToken"]
            claims = current.claims_of(genuine)
            attacker_jwk = jwk.construct(other.public_file.read_text(), other.algorithm).to_dict()
            forgeries = {
                "unknown kid": current.sign(claims, kid="someone-else"),
                "no kid": str(jwt.encode(claims, current.private_pem, algorithm=current.algorithm)),
                "numeric kid": current.sign(claims, kid=7),
                "their key, our kid": other.sign(claims, kid=current.kid),
                # Keys a token brings along or points to are never used, even under our kid.
                "their key in a jwk header": other.sign(claims, kid=current.kid, jwk=attacker_jwk),
                "their key behind jku": other.sign(
                    claims, kid=current.kid, jku="http://127.0.0.1:9/jwks.json"
                ),
                "their key behind x5u": other.sign(
                    claims, kid=current.kid, x5u="http://127.0.0.1:9/cert.pem"
                ),
                "HS256 keyed with our public key": hs256_with_public_key(claims, current),
                "crit header": current.sign(claims, crit=["exp"]),
            }
            answers = {
                name: await gql(client, ME, token=token) for name, token in forgeries.items()
            }
            genuine_answer = await gql(client, ME, token=genuine)

        assert data_of(genuine_answer, "me") == {"username": "forged_at"}
        for name, body in answers.items():
            assert body["data"] is None, name
            assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")

    async def test_a_token_of_the_other_algorithm_is_refused(
        self, database: SqlDatabase, key_pairs: dict[str, tuple[KeyPair, KeyPair]]
    ) -> None:
        es256, rs256 = key_pairs["ES256"][0], key_pairs["RS256"][0]
        async with running_app(signed_with(database, es256)) as client:
            claims = es256.claims_of((await register(client))["accessToken"])
        # Even listed as a previous key, an RSA key never verifies for an ES256 service.
        async with running_app(signed_with(database, rs256)) as client:
            body = await gql(client, ME, token=es256.sign(claims))

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")

    async def test_an_expired_token_is_token_expired(
        self, database: SqlDatabase, current: KeyPair
    ) -> None:
        async with running_app(signed_with(database, current)) as client:
            claims = current.claims_of((await register(client))["accessToken"])
            now = int(time.time())
            body = await gql(client, ME, token=current.sign({**claims, "exp": now - 60}))

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_EXPIRED")


class TestRotation:
    async def test_tokens_of_the_previous_key_verify_while_it_is_listed_and_not_after(
        self, database: SqlDatabase, current: KeyPair, other: KeyPair
    ) -> None:
        async with running_app(signed_with(database, other)) as before:
            old_token = (await register(before, "rotated"))["accessToken"]

        async with running_app(signed_with(database, current, other)) as during:
            listed = await gql(during, ME, token=old_token)
            new_token = (await login(during, "rotated"))["accessToken"]
        async with running_app(signed_with(database, current)) as after:
            removed = await gql(after, ME, token=old_token)
            fresh = await gql(after, ME, token=new_token)

        assert data_of(listed, "me") == {"username": "rotated"}
        assert jwt.get_unverified_header(new_token)["kid"] == current.kid
        assert_error(removed, "UNAUTHENTICATED", reason="TOKEN_INVALID")
        assert data_of(fresh, "me") == {"username": "rotated"}


class TestHasuraClaims:
    async def test_they_are_absent_unless_asked_for(
        self, database: SqlDatabase, current: KeyPair
    ) -> None:
        async with running_app(signed_with(database, current)) as client:
            token = (await register(client))["accessToken"]

        assert HASURA_CLAIMS not in current.claims_of(token)

    async def test_they_name_the_user_and_every_role_the_role_holds(
        self, database: SqlDatabase, current: KeyPair
    ) -> None:
        settings = signed_with(database, current, jwt_hasura_claims=True)
        async with running_app(settings) as client:
            user = await register(client, "hasura_user")
            admin = await register_admin(client, database)

        assert current.claims_of(user["accessToken"])[HASURA_CLAIMS] == {
            "x-hasura-default-role": "USER",
            "x-hasura-allowed-roles": ["USER"],
            "x-hasura-user-id": user["user"]["id"],
        }
        assert current.claims_of(admin["accessToken"])[HASURA_CLAIMS] == {
            "x-hasura-default-role": "ADMIN",
            "x-hasura-allowed-roles": ["USER", "ADMIN"],
            "x-hasura-user-id": admin["user"]["id"],
        }
