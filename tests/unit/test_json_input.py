"""The nesting bound on client-written JSON: counted by a flat scan, strings and escapes
skipped, before json.loads could recurse."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from gql_auth.security.json_input import MAX_DEPTH, TooDeep, loads


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


class TestTheBound:
    @pytest.mark.parametrize("nested", [arrays, objects])
    def test_nesting_at_the_bound_is_parsed(self, nested: Callable[[int], str]) -> None:
        assert loads(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))

    @pytest.mark.parametrize("nested", [arrays, objects])
    def test_one_level_past_the_bound_is_too_deep(self, nested: Callable[[int], str]) -> None:
        with pytest.raises(TooDeep):
            loads(nested(MAX_DEPTH + 1))

    def test_arrays_and_objects_count_together(self) -> None:
        text = '[{"a":' * 33 + "1" + "}]" * 33  # 66 levels, half of each

        with pytest.raises(TooDeep):
            loads(text)

    def test_the_bound_may_be_lowered(self) -> None:
        assert loads("[[1]]", max_depth=2) == [[1]]
        with pytest.raises(TooDeep):
            loads("[[[1]]]", max_depth=2)

    def test_many_siblings_are_not_depth(self) -> None:
        text = "[" + ",".join(["[]"] * 10_000) + "]"

        assert len(loads(text)) == 10_000

    def test_too_deep_is_a_json_decode_error_with_the_position(self) -> None:
        with pytest.raises(json.JSONDecodeError) as raised:
            loads(" " + arrays(MAX_DEPTH + 1))

        assert raised.value.pos == MAX_DEPTH + 1  # the opener one past the bound

    def test_a_megabyte_of_openers_is_refused_without_recursing(self) -> None:
        started = time.perf_counter()
        with pytest.raises(TooDeep):
            loads("[" * 1_000_000)
        assert time.perf_counter() - started < 1


class TestStrings:
    def test_brackets_inside_strings_do_not_count(self) -> None:
        text = json.dumps({"a": "[" * 1000 + "{" * 1000})

        assert loads(text) == {"a": "[" * 1000 + "{" * 1000}

    def test_an_escaped_quote_does_not_end_the_string(self) -> None:
        text = json.dumps(['he said "[[[[' * 100 + '"'])  # \" inside, brackets after it

        assert loads(text) == ['he said "[[[[' * 100 + '"']

    def test_an_escaped_backslash_before_a_quote_ends_the_string(self) -> None:
        # "\\" is a whole string: the brackets after it are real nesting.
        text = '["\\\\", ' + arrays(MAX_DEPTH) + "]"

        with pytest.raises(TooDeep):
            loads(text)

    def test_a_string_that_ends_in_backslashes_is_closed_by_its_quote(self) -> None:
        value = ["x\\\\", "[" * 100]

        assert loads(json.dumps(value)) == value

    @pytest.mark.parametrize(
        "text",
        ['"' + '\\"' * 40_000, '"' * 80_000, '["' + "\\" * 80_001, "[" + '"[' * 40_000],
        ids=["escaped-quotes-left-open", "empty-strings", "trailing-backslashes", "half-open"],
    )
    def test_hostile_strings_are_scanned_in_linear_time(self, text: str) -> None:
        started = time.perf_counter()
        with pytest.raises(ValueError, match=r"."):
            loads(text)
        assert time.perf_counter() - started < 1

    def test_unicode_escapes_are_left_to_json(self) -> None:
        assert loads('["\\u005b\\u007b", "\\ud83d\\ude00"]') == ["[{", "\U0001f600"]


class TestMalformedText:
    @pytest.mark.parametrize("text", ["", "{", "]]]" + arrays(3), "not json", "[1,]"])
    def test_bad_json_is_still_a_decode_error(self, text: str) -> None:
        with pytest.raises(json.JSONDecodeError):
            loads(text)

    def test_stray_closers_do_not_buy_extra_depth(self) -> None:
        with pytest.raises(TooDeep):
            loads("]" * 100 + arrays(MAX_DEPTH + 1))
