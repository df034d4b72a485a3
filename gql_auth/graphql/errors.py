"""The one place where errors become the contract's shape: codes, reasons, request ids."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

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
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")

# graphql-core describes a value that does not fit its type by printing the value, which
# may be a whole input with its password. Messages are rebuilt from these templates, so
# only the variable, the path and names from the schema survive.
_TYPE = r"'(?P<type>[_A-Za-z][_0-9A-Za-z]*[!\[\]]*|\[[_0-9A-Za-z!\[\]]+)'"
_FIELD = r"'(?P<field>[_A-Za-z][_0-9A-Za-z]{0,63})'"
_VALUE_MESSAGES = [
    (
        rf"Expected a value of non-null type {_TYPE} to be provided",
        "Expected a value of non-null type '{type}' to be provided.",
    ),
    (
        rf"Expected value of non-null type {_TYPE} not to be None",
        "Expected value of non-null type '{type}' not to be None.",
    ),
    (
        rf"Expected value of type {_TYPE} to include required field {_FIELD}",
        "Expected value of type '{type}' to include required field '{field}'.",
    ),
    (
        rf"Expected value of type {_TYPE} not to include unknown field {_FIELD}",
        "Expected value of type '{type}' not to include unknown field '{field}'.",
    ),
    (
        rf"Expected value of type {_TYPE} not to include unknown field",
        "Expected value of type '{type}' not to include unknown fields.",
    ),
    (
        rf"Expected value of type {_TYPE} to be an object",
        "Expected value of type '{type}' to be an object.",
    ),
    (rf"Expected value of type {_TYPE}", "Expected value of type '{type}'."),
    (
        r"(?P<type>(?:Enum|Scalar) '\w+'|\w+) cannot represent",
        "{type} cannot represent the value given.",
    ),
    (
        r"Value .* does not exist in '(?P<type>\w+)' enum",
        "The value given does not exist in '{type}' enum.",
    ),
]
_VALUE_PATTERNS = [
    (re.compile(pattern, re.DOTALL), template) for pattern, template in _VALUE_MESSAGES
]
_VARIABLE = re.compile(
    r"Variable '\$(?P<name>\w+)' (?:has invalid (?P<default>default )?value"
    r"(?P<path> at (?:\.\w+|\[\d+\])+)?: (?P<detail>.*)|got invalid value.*)",
    re.DOTALL,
)


def without_values(message: str) -> str:
    """The message with any echoed input value left out: variable, path and type stay."""
    variable = _VARIABLE.fullmatch(message)
    if variable is not None:
        name, path = variable["name"], variable["path"] or ""
        described = f"Variable '${name}' has invalid {variable['default'] or ''}value{path}"
        detail = _value_free(variable["detail"] or "")
        return f"{described}: {detail}" if detail else f"{described}."
    return _value_free(message) or message


def _value_free(detail: str) -> str | None:
    for pattern, template in _VALUE_PATTERNS:
        found = pattern.match(detail)
        if found is not None:
            return template.format(**found.groupdict())
    return None


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
            return _masked(error, self.execution_context)
        if (error.extensions or {}).get("code"):  # a GraphQLError with a client code of its own
            return error
        message = without_values(error.message)
        if self.execution_context.schema.config.disable_field_suggestions:
            # Production: graphql-core also suggests arguments, enum values and input
            # fields, which Strawberry's switch leaves in; they map the schema out.
            message = _SUGGESTION.sub("", message)
        return _with(error, message, {**(error.extensions or {}), "code": self._client_code()})

    def _client_code(self) -> str:
        if self.execution_context.graphql_document is None:
            return "GRAPHQL_PARSE_FAILED"
        # Errors before execution are validation; during it, variable coercion.
        return "BAD_USER_INPUT" if self._executing else "GRAPHQL_VALIDATION_FAILED"


def translate_outside_operation(errors: list[GraphQLError], execution: ExecutionContext) -> None:
    """Gives errors that never reach TranslateErrors the contract's shape, in place.

    Strawberry answers some failures after the operation hooks have exited:
    a document that does not parse (with the parser cache, the parse happens
    in a hook) and an exception escaping an extension hook.
    """
    # The operation's own result errors still pass through TranslateErrors; any other list
    # was made after the hooks ran (or before a result existed) and is ours to shape.
    outside = execution.result is None or errors is not execution.result.errors
    for index, error in enumerate(errors):
        if (error.extensions or {}).get("code"):
            continue
        if is_unexpected(error) and outside:
            errors[index] = _masked(error, execution)
        elif execution.graphql_document is None:
            errors[index] = _with(error, error.message, {"code": "GRAPHQL_PARSE_FAILED"})


def _masked(error: GraphQLError, execution: ExecutionContext) -> GraphQLError:
    """Logs the whole error with the request id; the client gets only the id."""
    request_id = getattr(execution.context, "request_id", None)
    if getattr(execution.context, "retrying", False):
        # A deadlock or lock timeout that the view runs again: the retry's outcome counts.
        logger.warning(
            "transient conflict in %s (request %s): %s",
            execution.operation_name or "anonymous operation",
            request_id,
            str(error.original_error).partition("\n")[0],  # the driver's words, not the SQL
        )
    else:
        logger.error(
            "unexpected error in %s (request %s)",
            execution.operation_name or "anonymous operation",
            request_id,
            exc_info=error.original_error,
        )
    return _with(
        error, INTERNAL_MESSAGE, {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    )


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
