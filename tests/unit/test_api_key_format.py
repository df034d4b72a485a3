"""The API key format: recognizable offline by prefix and checksum, refused before any read."""

from __future__ import annotations

import zlib

import pytest

from gql_auth.api_keys.format import (
    ALPHABET,
    CHECKSUM_LENGTH,
    PREFIX,
    RANDOM_LENGTH,
    checksum,
    is_well_formed,
    new_key,
    presents_a_key,
    public_prefix,
)
from gql_auth.api_keys.scopes import Scope, grantable, held_by, parse_stored
from gql_auth.core.errors import InvalidInput
from gql_auth.core.models import Role


def base62(value: int, width: int) -> str:
    """An independent spelling of the checksum rule, for comparison."""
    digits = ""
    while value:
        value, digit = divmod(value, 62)
        digits = ALPHABET[digit] + digits
    return digits.rjust(width, "0")


class TestNewKeys:
    def test_a_key_is_the_prefix_random_base62_and_its_checksum(self) -> None:
        key = new_key()

        assert key.startswith(PREFIX)
        assert len(key) == len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
        assert set(key[len(PREFIX) :]) <= set(ALPHABET)
        body = key[:-CHECKSUM_LENGTH]
        assert key[-CHECKSUM_LENGTH:] == base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)
        assert is_well_formed(key)

    def test_keys_do_not_repeat(self) -> None:
        assert len({new_key() for _ in range(1000)}) == 1000

    def test_the_public_prefix_is_the_prefix_and_four_random_characters(self) -> None:
        key = new_key()

        assert public_prefix(key) == key[:8]
        assert public_prefix(key).startswith("gqa_")


class TestChecksum:
    def test_the_checksum_is_crc32_in_six_base62_digits_most_significant_first(self) -> None:
        # Both spellings agree, and a small value is zero-padded on the left.
        for body in ("gqa_", "gqa_0", "gqa_" + "z" * 32):
            assert checksum(body) == base62(zlib.crc32(body.encode()), 6)
        assert base62(61, 6) == "00000z"

    @pytest.mark.parametrize("position", range(len(PREFIX), len(PREFIX) + RANDOM_LENGTH + 6))
    def test_any_one_changed_character_is_refused(self, position: int) -> None:
        # CRC32 catches every error burst up to 32 bits: one changed character always.
        key = new_key()
        replacement = "a" if key[position] != "a" else "b"
        changed = key[:position] + replacement + key[position + 1 :]

        assert not is_well_formed(changed)

    @pytest.mark.parametrize(
        "candidate",
        [
            "",
            "gqa_",
            "gqb_" + "a" * 32 + "000000",
            "GQA_" + "a" * 32 + "000000",
            "gqa_" + "a" * 26 + "000000",  # fewer than 160 random bits
            "gqa_" + "a" * 65 + "000000",
            "gqa_" + "a" * 31 + "-" + "000000",
            "gqa_" + "٣" * 32 + "000000",  # digits, but not base62's
            "gqa_" + "a" * 32 + "00000",
        ],
    )
    def test_malformed_candidates_are_refused(self, candidate: str) -> None:
        assert not is_well_formed(candidate)

    def test_a_well_formed_key_of_another_length_is_accepted_by_its_checksum(self) -> None:
        body = "gqa_" + "Q" * 27

        assert is_well_formed(body + checksum(body))

    def test_a_bearer_credential_claims_to_be_a_key_by_its_prefix_alone(self) -> None:
        assert presents_a_key("gqa_anything")
        assert not presents_a_key("eyJhbGciOiJIUzI1NiJ9.e30.x")


class TestScopes:
    def test_the_vocabulary_holds_the_contract_s_six(self) -> None:
        assert {scope.value for scope in Scope} >= {
            "profile:read",
            "dashboard:read",
            "organizations:read",
            "organizations:write",
            "admin:read",
            "admin:write",
        }

    def test_a_user_holds_every_scope_but_the_admin_ones(self) -> None:
        assert Scope.ADMIN_READ not in held_by(Role.USER)
        assert set(held_by(Role.ADMIN)) == set(Scope)

    def test_a_user_asking_for_an_admin_scope_is_refused_not_trimmed(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            grantable(["profile:read", "admin:read"], role=Role.USER)

        assert refused.value.reason == "SCOPE_NOT_HELD"

    @pytest.mark.parametrize(
        "requested", [[], ["profile:write"], ["PROFILE:READ"], [" profile:read"]]
    )
    def test_empty_or_unknown_scopes_are_refused(self, requested: list[str]) -> None:
        with pytest.raises(InvalidInput):
            grantable(requested, role=Role.ADMIN)

    def test_granted_scopes_are_deduplicated_in_the_vocabulary_s_order(self) -> None:
        granted = grantable(["admin:read", "profile:read", "admin:read"], role=Role.ADMIN)

        assert granted == (Scope.PROFILE_READ, Scope.ADMIN_READ)
        assert parse_stored(" ".join(granted)) == granted
