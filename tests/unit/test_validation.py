"""Pure rules for e-mail keys: one spelling per address, the same on every backend."""

from __future__ import annotations

import pytest

from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.security.validation import (
    EMAIL_MAX,
    address_key,
    clean_email,
    email_key,
    login_key,
    username_key,
)


class TestEmailKey:
    @pytest.mark.parametrize(
        ("typed", "key"),
        [
            ("jose@example.com", "jose@example.com"),
            ("JOSE@Example.COM", "jose@example.com"),
            ("\uff4a\uff4f\uff53\uff45@example.com", "jose@example.com"),  # fullwidth (NFKC)
            ("jose@\uff45xample.com", "jose@example.com"),
            ("jose\u0301@example.com", "jos\u00e9@example.com"),  # decomposed accent
            ("stra\u00dfe@example.com", "strasse@example.com"),  # casefold, not lower
            ("a@xn--bcher-kva.example", "a@b\u00fccher.example"),  # punycode domain
            ("a@B\u00dcCHER.example", "a@b\u00fccher.example"),
        ],
    )
    def test_spellings_of_one_address_share_one_key(self, typed: str, key: str) -> None:
        assert email_key(clean_email(typed)) == key
        assert address_key(typed) == key

    def test_an_accent_is_kept(self) -> None:
        assert address_key("jos\u00e9@example.com") != address_key("jose@example.com")

    def test_the_key_is_stable(self) -> None:
        key = address_key("\uff2a\u00d3SE@\uff25xample.com")

        assert email_key(key) == key

    def test_an_invalid_address_still_gets_a_key_for_counting(self) -> None:
        assert address_key("  Not An Address ") == "not an address"
        assert len(address_key("x" * 1000)) == EMAIL_MAX

    def test_an_address_whose_key_outgrows_the_column_is_too_long(self) -> None:
        # U+FDFA is one character that NFKC spells with eighteen.
        typed = "\ufdfa" * 14 + "@example.com"
        assert len(typed) <= EMAIL_MAX

        with pytest.raises(InvalidInput) as refused:
            clean_email(typed)

        assert (refused.value.subject, refused.value.reason) == (Subject.EMAIL, Reason.TOO_LONG)


class TestLoginKey:
    """One key for what a typed name means: the lookup, the sign-in limits and passkey decoys."""

    @pytest.mark.parametrize(
        "typed",
        [
            "alice",
            "ALICE",
            "  Alice ",
            "\uff41\uff4c\uff49\uff43\uff45",
            "\uff21lice",
            "ＡＬＩＣＥ",
        ],
    )
    def test_spellings_of_one_username_share_one_key(self, typed: str) -> None:
        assert login_key(typed) == "alice"

    def test_a_stored_ascii_username_keys_as_lower_case_as_before(self) -> None:
        for username in ("Alice", "bob_99", "Mary.Jane-O", "ZZZ"):
            assert username_key(username) == username.lower()

    def test_the_kelvin_sign_folds_to_k(self) -> None:
        assert login_key("\u212aelvin") == "kelvin"

    @pytest.mark.parametrize(
        "typed",
        [
            "alice@example.com",
            " ALICE@Example.COM ",
            "\uff41lice@example.com",
            "alice@\uff45xample.com",
        ],
    )
    def test_an_address_keys_as_its_lookup_compares(self, typed: str) -> None:
        assert login_key(typed) == address_key(typed) == "alice@example.com"

    def test_a_fullwidth_at_sign_makes_an_address(self) -> None:
        assert login_key("alice\uff20example.com") == "alice@example.com"

    def test_a_name_and_an_address_never_share_a_key(self) -> None:
        assert login_key("alice") != login_key("alice@example.com")

    def test_a_huge_input_keys_within_the_column_width(self) -> None:
        assert len(login_key("\ufdfa" * 1000)) <= EMAIL_MAX
        assert len(login_key("a@" + "\ufdfa" * 1000)) <= EMAIL_MAX
