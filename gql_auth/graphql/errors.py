"""The one place where errors become the contract's shape: codes, reasons, request ids."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gql_auth.errors import DomainError

logger = logging.getLogger("gql_auth.errors")

CLIENT_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "BAD_USER_INPUT",
        "RATE_LIMITED",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
    }
)
INTERNAL_MESSAGE = "Internal server error."


def is_unexpected(error: GraphQLError) -> bool:
    """A bug or an outage, as opposed to a refusal the client caused."""
    original = error.original_error
    if original is None or isinstance(original, DomainError):
        return False
    if isinstance(original, GraphQLError):
        code = (original.extensions or {}).get("code")
        if code is None and error.path is None:
            return False  # graphql-core refusing the client's variables before execution
        return code not in CLIENT_CODES
    return True


class TranslateErrors(SchemaExtension):
    """Maps domain errors to codes and masks everything unexpected.

    An unexpected error is logged in full with the request id, and the client
    gets only INTERNAL_SERVER_ERROR and that id: never a traceback, SQL or secret.
    """

    def __init__(self) -> None:
        self._executing = False

    def on_execute(self) -> Iterator[None]:
        self._executing = True
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._translate(error) for error in result.errors]

    def _translate(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, DomainError):
            return _with(error, str(original), original.extensions)
        if is_unexpected(error):
            request_id = getattr(self.execution_context.context, "request_id", None)
            logger.error(
                "unexpected error in %s (request %s)",
                self.execution_context.operation_name or "anonymous operation",
                request_id,
                exc_info=original,
            )
            return _with(
                error, INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
            )
        if (error.extensions or {}).get("code"):  # a GraphQLError with a client code of its own
            return error
        return _with(
            error, error.message, {**(error.extensions or {}), "code": self._client_code()}
        )

    def _client_code(self) -> str:
        if self.execution_context.graphql_document is None:
            return "GRAPHQL_PARSE_FAILED"
        # Errors before execution are validation; during it, variable coercion.
        return "BAD_USER_INPUT" if self._executing else "GRAPHQL_VALIDATION_FAILED"


def _with(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )
