"""The one table that puts domain errors on the wire: codes, reasons, field names, envelope."""

from __future__ import annotations

import json

import pytest
from graphql import GraphQLInputObjectType, GraphQLObjectType

from gql_auth.core import errors
from gql_auth.core.errors import (
    DomainError,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    OutOfRange,
    RateLimited,
    Reason,
    Subject,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
    Unauthenticated,
    UserNotFound,
)
from gql_auth.graphql.engine.errors import (
    FIELDS,
    code_of,
    contract_extensions,
    refusal_body,
    wire_extensions,
    wire_message,
)
from gql_auth.graphql.schema import build_schema


def schema_input_names() -> set[str]:
    """Every argument and input-object field a client can send."""
    schema = build_schema()._schema
    names: set[str] = set()
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLObjectType):
            names.update(name for field in type_.fields.values() for name in field.args)
        elif isinstance(type_, GraphQLInputObjectType):
            names.update(type_.fields)
    return names


def domain_error_classes() -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return [kind for kind in found if kind.__module__ == errors.__name__]


class TestTheTableIsExhaustive:
    @pytest.mark.parametrize(
        "kind",
        [k for k in domain_error_classes() if k is not DomainError],
        ids=lambda k: k.__name__,
    )
    def test_every_domain_error_class_has_a_code(self, kind: type[DomainError]) -> None:
        assert code_of(kind)

    def test_the_walk_finds_the_domain_errors(self) -> None:
        """Guards the guard: an empty walk would pass the test above vacuously."""
        assert {InvalidInput, OutOfRange, RateLimited, TokenRevoked} <= set(domain_error_classes())

    def test_an_unmapped_error_class_has_no_code(self) -> None:
        class Unmapped(DomainError):
            pass

        with pytest.raises(LookupError, match="Unmapped"):
            code_of(Unmapped)

    def test_every_subject_has_a_field_name(self) -> None:
        assert set(FIELDS) == set(Subject)

    def test_each_field_name_stands_for_one_subject(self) -> None:
        assert len(set(FIELDS.values())) == len(FIELDS)

    def test_every_field_name_is_something_a_client_sends(self) -> None:
        assert set(FIELDS.values()) - schema_input_names() == set()


class TestExtensions:
    @pytest.mark.parametrize(
        ("error", "extensions"),
        [
            (Unauthenticated(), {"code": "UNAUTHENTICATED"}),
            (
                InvalidCredentials(),
                {"code": "UNAUTHENTICATED", "reason": "INVALID_CREDENTIALS"},
            ),
            (TokenInvalid(), {"code": "UNAUTHENTICATED", "reason": "TOKEN_INVALID"}),
            (TokenExpired(), {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}),
            (TokenRevoked(), {"code": "UNAUTHENTICATED", "reason": "TOKEN_REVOKED"}),
            (Forbidden(), {"code": "FORBIDDEN"}),
            (UserNotFound(), {"code": "BAD_USER_INPUT"}),
            (RateLimited(retry_after=7), {"code": "RATE_LIMITED", "retryAfter": 7}),
            (
                InvalidInput(Subject.NEW_PASSWORD, Reason.TOO_SHORT, "Too short."),
                {"code": "BAD_USER_INPUT", "reason": "TOO_SHORT", "field": "newPassword"},
            ),
            (
                OutOfRange(Subject.PAGE_SIZE, minimum=1, maximum=100),
                {"code": "BAD_USER_INPUT", "reason": "OUT_OF_RANGE", "field": "first"},
            ),
        ],
        ids=lambda value: type(value).__name__ if isinstance(value, DomainError) else "",
    )
    def test_each_error_answers_with_the_contracts_extensions(
        self, error: DomainError, extensions: dict[str, object]
    ) -> None:
        # Compared as JSON text: key order is part of what clients receive.
        assert json.dumps(wire_extensions(error)) == json.dumps(extensions)

    def test_the_reason_goes_out_as_a_plain_word(self) -> None:
        reason = wire_extensions(TokenExpired())["reason"]

        assert type(reason) is str

    def test_what_is_not_given_is_left_out(self) -> None:
        assert contract_extensions("FORBIDDEN", reason=None, field=None) == {"code": "FORBIDDEN"}


class TestMessages:
    def test_a_refusal_keeps_the_domains_message(self) -> None:
        error = InvalidInput(Subject.TOKEN, Reason.INVALID, "This link is invalid or has expired.")

        assert wire_message(error) == "This link is invalid or has expired."

    def test_a_default_message_is_kept(self) -> None:
        assert wire_message(RateLimited(retry_after=1)) == "Too many attempts; try again later."

    @pytest.mark.parametrize(
        ("subject", "message"),
        [
            (Subject.PAGE_SIZE, "first must be between 1 and 100."),
            (Subject.LIST_LIMIT, "limit must be between 1 and 100."),
        ],
    )
    def test_a_range_is_worded_with_the_inputs_wire_name(
        self, subject: Subject, message: str
    ) -> None:
        assert wire_message(OutOfRange(subject, minimum=1, maximum=100)) == message


class TestRefusalBody:
    def test_a_transport_refusal_has_the_graphql_error_envelope(self) -> None:
        body = refusal_body("Request bodies are limited to 64 bytes.", reason="PAYLOAD_TOO_LARGE")

        assert body == (
            b'{"errors": [{"message": "Request bodies are limited to 64 bytes.", '
            b'"extensions": {"code": "BAD_USER_INPUT", "reason": "PAYLOAD_TOO_LARGE"}}]}'
        )
