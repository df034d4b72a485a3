"""Accept negotiation for /graphql: the highest-q supported type, application/json on a tie."""

from __future__ import annotations

import pytest

from gql_auth.web.negotiation import GRAPHQL_RESPONSE, JSON, negotiate, request_error_status

APOLLO = "application/graphql-response+json,application/json;q=0.9"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (APOLLO, GRAPHQL_RESPONSE),
        ("application/json;q=0.9, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", JSON),
        ("application/graphql-response+json, application/json", GRAPHQL_RESPONSE),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0, */*", JSON),
        ("application/json;q=0, */*;q=0.5", GRAPHQL_RESPONSE),
        ("text/html, */*;q=0.1", JSON),
        ("application/graphql-response+json;q=2, application/json;q=0.5", JSON),
        ("application/graphql-response+json;q=nan, application/json;q=0.5", JSON),
        ("nonsense", JSON),  # nothing usable: as if no header was sent
        ("text/html", None),
        ("application/json;q=0", None),
        ("application/xml, text/plain;q=0.5", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def test_a_request_error_is_400_and_an_outage_of_ours_500() -> None:
    client = {"errors": [{"message": "x", "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}]}
    ours = {"errors": [{"message": "x", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}

    assert request_error_status(client) == 400
    assert request_error_status(ours) == 500
