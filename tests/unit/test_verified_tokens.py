"""AccessTokenCodec keeps verified tokens only, a bounded number of them, and never past expiry."""

from __future__ import annotations

import time

import pytest
from jose import jwt

from gql_auth.core.errors import TokenExpired, TokenInvalid
from gql_auth.security.tokens import VERIFIED_TOKENS_KEPT, AccessTokenCodec
from gql_auth.settings import Settings

KEY = "k" * 40


def codec() -> AccessTokenCodec:
    return AccessTokenCodec(Settings(_env_file=None, secret_key=KEY))


def kept(tokens: AccessTokenCodec) -> int:
    return int(tokens._verified.cache_info().currsize)


def test_a_verified_token_is_kept_and_answers_the_same_claims() -> None:
    tokens = codec()
    token = tokens.issue(user_id=7, session_id="s1", role="USER", amr=["pwd"]).token

    first, second = tokens.verify(token), tokens.verify(token)

    assert first is second
    assert first.claims.user_id == 7
    assert kept(tokens) == 1


def test_refused_tokens_are_never_kept() -> None:
    tokens = codec()
    genuine = tokens.issue(user_id=7, session_id="s1", role="USER", amr=[]).token
    claims = tokens.verify(genuine).payload
    forged = jwt.encode(dict(claims), "x" * 40, algorithm="HS256")
    tokens._verified.cache_clear()

    for _ in range(3):
        with pytest.raises(TokenInvalid):
            tokens.verify(forged)

    assert kept(tokens) == 0


def test_the_kept_claims_cannot_be_changed_by_a_caller() -> None:
    tokens = codec()
    token = tokens.issue(user_id=7, session_id="s1", role="USER", amr=[]).token

    with pytest.raises(TypeError):
        tokens.verify(token).payload["sub"] = "1"  # type: ignore[index]


def test_a_kept_token_past_its_expiry_is_token_expired() -> None:
    tokens = codec()
    claims = dict(
        tokens.verify(tokens.issue(user_id=7, session_id="s", role="USER", amr=[]).token).payload
    )
    expires = int(time.time()) + 1
    token = jwt.encode({**claims, "exp": expires}, KEY, algorithm="HS256")
    tokens.verify(token)

    while int(time.time()) <= expires:
        time.sleep(0.05)

    with pytest.raises(TokenExpired):
        tokens.verify(token)


def test_the_number_kept_is_bounded() -> None:
    tokens = codec()
    for user_id in range(VERIFIED_TOKENS_KEPT + 10):
        tokens.verify(tokens.issue(user_id=user_id, session_id="s", role="USER", amr=[]).token)

    assert kept(tokens) == VERIFIED_TOKENS_KEPT
