"""Fast specs of the document analysis itself (no app): what it counts through fragments, that
unknown and cyclic spreads stop it, and which documents stay cached. The HTTP behaviour is in
test_query_limits.py."""

from __future__ import annotations

import pytest
from graphql import parse

from gql_auth.graphql.engine.document_rules import (
    MAX_EXPANDED_FIELDS,
    DocumentLimits,
    check_document,
)
from gql_auth.graphql.engine.documents import ValidDocuments
from gql_auth.graphql.schema import build_schema

UNKNOWN_FRAGMENT = {"code": "GRAPHQL_VALIDATION_FAILED", "reason": "UNKNOWN_FRAGMENT"}
CREDENTIALS = ("login", "changePassword", "resetPassword")
LIMITS = DocumentLimits(
    max_depth=4, max_introspection_depth=6, max_aliases=3, credential_fields=CREDENTIALS
)


def refusals(document: str, limits: DocumentLimits = LIMITS) -> list[tuple[str, str]]:
    """(reason, message) of each refusal."""
    return [
        ((error.extensions or {})["reason"], error.message)
        for error in check_document(parse(document), limits)
    ]


def reasons(document: str, limits: DocumentLimits = LIMITS) -> list[str]:
    return [reason for reason, _ in refusals(document, limits)]


def doubling_chain(levels: int, end: str) -> str:
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ {end} }}"


class TestFragmentsAreResolvedOnce:
    def test_an_unknown_spread_at_the_end_of_a_doubling_chain_is_refused(self) -> None:
        found = refusals(doubling_chain(200, "...Nope"))

        assert found == [("UNKNOWN_FRAGMENT", "Unknown fragment 'Nope'.")]

    def test_a_spread_back_into_the_chain_is_a_cycle(self) -> None:
        found = refusals(doubling_chain(200, "...F3"))

        assert found == [("FRAGMENT_CYCLE", "Fragment 'F3' is spread within itself.")]

    def test_a_fragment_spreading_itself_is_a_cycle(self) -> None:
        assert reasons("{ ...A } fragment A on Query { __typename ...A }") == ["FRAGMENT_CYCLE"]

    def test_a_cycle_in_an_unused_fragment_is_refused_too(self) -> None:
        document = "{ __typename } fragment A on Query { ...B } fragment B on Query { ...A }"

        assert reasons(document) == ["FRAGMENT_CYCLE"]

    def test_an_unknown_spread_in_the_operation_is_refused(self) -> None:
        assert reasons("{ __typename ...Nope }") == ["UNKNOWN_FRAGMENT"]

    def test_a_doubling_chain_of_fields_counts_every_expanded_field(self) -> None:
        assert 2**12 <= MAX_EXPANDED_FIELDS < 2**13
        wide = DocumentLimits(
            max_depth=4, max_introspection_depth=6, max_aliases=10**6, credential_fields=()
        )

        assert reasons(doubling_chain(12, "__typename"), wide) == []
        assert reasons(doubling_chain(13, "__typename"), wide) == ["TOO_COMPLEX"]
        assert reasons(doubling_chain(300, "__typename"), wide) == ["TOO_COMPLEX"]

    def test_the_same_fragment_spread_in_two_places_is_not_a_cycle(self) -> None:
        document = "{ ...A ... on Query { ...A } } fragment A on Query { __typename }"

        assert reasons(document) == []


class TestCountedThroughFragments:
    def test_aliases_count_once_per_spread(self) -> None:
        document = "{ ...A ...A } fragment A on Query { a: __typename b: __typename }"

        assert refusals(document) == [
            ("TOO_MANY_ALIASES", "The query uses 4 aliases; at most 3 are allowed.")
        ]

    def test_depth_of_a_fragment_counts_from_where_it_is_spread(self) -> None:
        fragment = "fragment U on User { a { b } }"  # two levels of its own

        assert reasons("{ x { y { ...U } } } " + fragment) == []  # 2 + 2
        assert refusals("{ x { y { z { ...U } } } } " + fragment) == [
            ("TOO_DEEP", "The query is nested 5 levels deep; at most 4 are allowed.")
        ]

    def test_one_fragment_spread_at_two_depths_counts_the_deeper(self) -> None:
        document = "{ ...U x { y { z { ...U } } } } fragment U on Query { a { b } }"

        assert reasons(document) == ["TOO_DEEP"]

    def test_a_fragment_inside_introspection_counts_against_the_introspection_limit(
        self,
    ) -> None:
        fragment = "fragment T on __Type { ofType { ofType { ofType { name } } } }"

        assert reasons('{ __type(name: "User") { ...T } } ' + fragment) == []  # 1 + 4 <= 6
        assert refusals('{ __type(name: "User") { ofType { ofType { ...T } } } } ' + fragment) == [
            ("TOO_DEEP", "The introspection query is nested 7 levels deep; at most 6 are allowed.")
        ]

    def test_introspection_inside_a_fragment_keeps_its_own_limit(self) -> None:
        fragment = 'fragment I on Query { __type(name: "User") { ofType { ofType { name } } } }'

        # Five levels: over the ordinary limit of 4, within the introspection limit of 6.
        assert reasons("{ x { ...I } } " + fragment) == []


LOGIN = 'login(input: {username: "u", password: "p"}) { accessToken }'


class TestCredentialChecks:
    @pytest.mark.parametrize(
        "document",
        [
            f"mutation {{ ...A ...A }} fragment A on Mutation {{ {LOGIN} }}",
            f"mutation {{ ...A }} fragment A on Mutation {{ ...B b: {LOGIN} }} "
            f"fragment B on Mutation {{ ... on Mutation {{ {LOGIN} }} }}",
            f"mutation {{ {LOGIN} ... on Mutation {{ ...A }} }} "
            f"fragment A on Mutation {{ {LOGIN} }}",
        ],
        ids=["spread-twice", "through-a-chain", "inline-then-spread"],
    )
    def test_credential_fields_at_the_mutation_top_level_count_through_fragments(
        self, document: str
    ) -> None:
        assert "ONE_CREDENTIAL_CHECK" in reasons(document)

    def test_the_refusal_names_the_credential_fields(self) -> None:
        found = refusals(f"mutation {{ a: {LOGIN} b: {LOGIN} }}")

        assert (
            "ONE_CREDENTIAL_CHECK",
            "At most one login, changePassword or resetPassword may run per request.",
        ) in found

    def test_any_two_credential_fields_are_refused_together(self) -> None:
        document = "mutation { changePassword(input: {}) { accessToken } resetPassword(input: {}) }"

        assert reasons(document) == ["ONE_CREDENTIAL_CHECK"]

    def test_only_the_declared_fields_count(self) -> None:
        document = f"mutation {{ a: {LOGIN} b: {LOGIN} }}"
        others = DocumentLimits(
            max_depth=4, max_introspection_depth=6, max_aliases=3, credential_fields=("other",)
        )

        assert reasons(document, others) == []

    def test_one_credential_field_in_a_fragment_is_allowed(self) -> None:
        assert reasons(f"mutation {{ ...A }} fragment A on Mutation {{ {LOGIN} }}") == []

    def test_fields_named_like_credentials_below_the_top_level_do_not_count(self) -> None:
        document = "mutation { x { ...A } } fragment A on X { login { a } changePassword }"

        assert reasons(document) == []

    def test_credential_names_in_a_query_do_not_count(self) -> None:
        document = "{ ...A } fragment A on Query { login changePassword resetPassword }"

        assert reasons(document) == []


class TestValidDocuments:
    def test_the_least_recently_used_document_leaves_first(self) -> None:
        documents = ValidDocuments(maxsize=2)
        first, second, third = (parse(f"{{ a{i}: __typename }}") for i in range(3))
        documents.keep("first", first)
        documents.keep("second", second)
        assert documents.get("first") is first  # now the most recently used

        documents.keep("third", third)

        assert documents.get("second") is None
        assert documents.get("first") is first
        assert documents.get("third") is third

    async def test_only_documents_that_pass_validation_are_kept(self) -> None:
        """Junk must not stay in memory: refused documents are parsed again each time."""
        schema = build_schema()
        documents = schema.documents.documents
        valid, refused = "{ __typename }", doubling_chain(30, "...Nope")

        answers = [await schema.execute(query) for query in [valid, refused, valid, refused]]

        assert [answer.data for answer in answers] == [{"__typename": "Query"}, None] * 2
        assert [
            [(error.message, error.extensions) for error in answer.errors or []]
            for answer in answers[1::2]
        ] == [[("Unknown fragment 'Nope'.", UNKNOWN_FRAGMENT)]] * 2
        assert documents.get(valid) is not None
        assert documents.get(refused) is None


class TestManyOperations:
    def test_only_the_first_operation_over_a_limit_is_reported(self) -> None:
        deep = "{ a { b { c { d { e } } } } }"
        document = " ".join(f"query Q{i} {deep}" for i in range(300))

        assert refusals(document) == [
            ("TOO_DEEP", "The query is nested 5 levels deep; at most 4 are allowed.")
        ]

    def test_a_later_operation_over_a_limit_is_found(self) -> None:
        document = "query Fine { __typename } query Deep { a { b { c { d { e } } } } }"

        assert reasons(document) == ["TOO_DEEP"]


class TestIntrospectionFields:
    def test_more_than_four_introspection_fields_are_refused_even_through_fragments(
        self,
    ) -> None:
        fragment = "fragment S on Query { __schema { queryType { name } } }"
        four = '{ ...S ...S a: __type(name: "User") { name } b: __schema { __typename } } '

        assert reasons(four + fragment) == []
        assert refusals("{ ...S ...S ...S ...S ...S } " + fragment) == [
            ("TOO_COMPLEX", "The query asks for __schema or __type 5 times; at most 4 are allowed.")
        ]
