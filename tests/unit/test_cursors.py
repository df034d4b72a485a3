"""Admin pagination cursors: opaque to clients, exactly one spelling per user id, and
nothing else decodes."""

from __future__ import annotations

import base64

import pytest

from gql_auth.accounts.admin import decode_cursor, encode_cursor
from gql_auth.core.errors import InvalidInput


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


class TestEncodeCursor:
    @pytest.mark.parametrize("user_id", [1, 42, 10**17, 10**18 - 1])
    def test_a_cursor_decodes_to_the_id_it_was_made_from(self, user_id: int) -> None:
        assert decode_cursor(encode_cursor(user_id)) == user_id

    def test_a_cursor_does_not_show_the_id_as_is(self) -> None:
        assert encode_cursor(42) != "42"

    def test_a_cursor_is_url_safe(self) -> None:
        assert set(encode_cursor(10**18 - 1)) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
        )


class TestDecodeCursor:
    @pytest.mark.parametrize(
        "cursor",
        [
            "",
            "not base64!",
            b64("abc"),  # not an id
            b64("-1"),
            b64("007"),  # an id with leading zeros is another spelling
            b64("1" * 19),  # more digits than any id
            b64("\u0661"),  # a digit, but not an ASCII one
            b64("42").rstrip("="),  # the id without its padding
            "\u00e9" * 4,  # not ASCII at all
            "x" * 500,
        ],
    )
    def test_a_cursor_we_did_not_hand_out_is_refused(self, cursor: str) -> None:
        with pytest.raises(InvalidInput):
            decode_cursor(cursor)

    def test_a_cursor_longer_than_any_we_hand_out_is_refused_before_decoding(self) -> None:
        padded = encode_cursor(42) + "=" * 40

        with pytest.raises(InvalidInput):
            decode_cursor(padded)
