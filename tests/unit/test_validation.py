"""Pure rules for e-mail keys: one spelling per address, the same on every backend."""

from __future__ import annotations

import pytest

from gql_auth.errors import InvalidInput, Reason, Subject
from gql_auth.validation import EMAIL_MAX, address_key, clean_email, email_key


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
