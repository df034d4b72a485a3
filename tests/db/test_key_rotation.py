"""SECRET_KEY_PREVIOUS: tokens signed with a retired key still verify; it never signs."""

from __future__ import annotations

import pytest
from jose import JWTError, jwt

from tests.support.helpers import (
    SECRET_KEY,
    SqlDatabase,
    assert_error,
    claims_of,
    gql,
    make_settings,
    register,
    running_app,
)

NEW_KEY = "a-brand-new-signing-key-0123456789-abcdef"
ME = "query { me { username } }"


class TestKeyRotation:
    async def test_a_token_signed_with_the_previous_key_still_works_during_the_rotation(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(make_settings(database.url)) as before:
            payload = await register(before, "rotating")
        rotated = make_settings(database.url, secret_key=NEW_KEY, secret_key_previous=SECRET_KEY)

        async with running_app(rotated) as after:
            body = await gql(after, ME, token=payload["accessToken"])

        assert body == {"data": {"me": {"username": "rotating"}}}

    async def test_new_tokens_are_signed_with_the_new_key_only(self, database: SqlDatabase) -> None:
        rotated = make_settings(database.url, secret_key=NEW_KEY, secret_key_previous=SECRET_KEY)

        async with running_app(rotated) as client:
            payload = await register(client, "fresh_key")

        token = payload["accessToken"]
        assert jwt.decode(token, NEW_KEY, algorithms=["HS256"], audience="gql-auth")["sub"]
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        with pytest.raises(JWTError):
            claims_of(token)  # verifies with the retired key

    async def test_once_the_previous_key_is_removed_its_tokens_are_refused(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(make_settings(database.url)) as before:
            payload = await register(before, "retired")

        async with running_app(make_settings(database.url, secret_key=NEW_KEY)) as after:
            body = await gql(after, ME, token=payload["accessToken"])

        assert_error(body, "UNAUTHENTICATED", reason="TOKEN_INVALID")
