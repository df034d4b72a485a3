"""The one place where errors become the contract's shape: codes, reasons, request ids."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from gql_auth.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    OutOfRange,
    RateLimited,
    SecondFactorRequired,
    SecondFactorState,
    Subject,
    Unauthenticated,
    UserNotFound,
)
from gql_auth.graphql.engine.redaction import without_values

logger = logging.getLogger("gql_auth.errors")

# The one table: the code each kind of domain error answers with (its nearest listed
# class decides), and the input field each subject is called on the wire. A new error
# class or subject that is missing here fails tests/unit/test_error_table.py.
CODES: Mapping[type[DomainError], str] = {
    Unauthenticated: "UNAUTHENTICATED",
    Forbidden: "FORBIDDEN",
    InvalidInput: "BAD_USER_INPUT",
    UserNotFound: "BAD_USER_INPUT",
    SecondFactorState: "BAD_USER_INPUT",
    Conflict: "BAD_USER_INPUT",
    RateLimited: "RATE_LIMITED",
}
FIELDS: Mapping[Subject, str] = {
    Subject.USERNAME: "username",
    Subject.EMAIL: "email",
    Subject.PASSWORD: "password",
    Subject.NEW_PASSWORD: "newPassword",
    Subject.CURRENT_PASSWORD: "currentPassword",
    Subject.TOKEN: "token",
    Subject.USER_ID: "userId",
    Subject.PAGE_SIZE: "first",
    Subject.CURSOR: "after",
    Subject.SEARCH: "search",
    Subject.LIST_LIMIT: "limit",
    Subject.CODE: "code",
    Subject.PASSKEY_CREDENTIAL: "credential",
    Subject.ITEM_ID: "id",
    Subject.NAME: "name",
    Subject.PROVIDER: "provider",
    Subject.REDIRECT_URI: "redirectUri",
    Subject.ORGANIZATION_ID: "organizationId",
    Subject.SLUG: "slug",
    Subject.SCOPES: "scopes",
    Subject.EXPIRES_IN_DAYS: "expiresInDays",
    Subject.URL: "url",
    Subject.EVENT_TYPES: "eventTypes",
    Subject.EVENT_ID: "eventId",
}

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


def code_of(kind: type[DomainError]) -> str:
    """The contract code of a kind of domain error; LookupError when the table misses it."""
    for ancestor in kind.__mro__:
        if issubclass(ancestor, DomainError) and ancestor in CODES:
            return CODES[ancestor]
    raise LookupError(f"{kind.__name__} has no code in graphql/engine/errors.py CODES")


def wire_message(error: DomainError) -> str:
    """What the client reads; a range names the input, so it is worded here."""
    if isinstance(error, OutOfRange):
        return f"{FIELDS[error.subject]} must be between {error.minimum} and {error.maximum}."
    return str(error)


def wire_extensions(error: DomainError) -> dict[str, object]:
    """`extensions` for a domain error: its code, and its reason, field or wait if it has one.

    MFA_REQUIRED also hands over the mfaToken for verifyMfa and the methods it takes.
    """
    extensions = contract_extensions(
        code_of(type(error)),
        reason=error.reason,
        field=FIELDS[error.subject] if isinstance(error, InvalidInput) else None,
        retry_after=error.retry_after if isinstance(error, RateLimited) else None,
    )
    if isinstance(error, SecondFactorRequired):
        if error.mfa_token is not None:  # none when only a passkey can finish the sign-in
            extensions["mfaToken"] = error.mfa_token
        extensions["mfaMethods"] = [str(method) for method in error.methods]
    return extensions


def contract_extensions(
    code: str,
    *,
    reason: str | None = None,
    field: str | None = None,
    retry_after: int | None = None,
) -> dict[str, object]:
    """The contract's `extensions`, keys in its order; what is None is left out."""
    extensions: dict[str, object] = {"code": code}
    if reason:
        extensions["reason"] = str(reason)  # the plain word, not the enum member
    if field is not None:
        extensions["field"] = field
    if retry_after is not None:
        extensions["retryAfter"] = retry_after
    return extensions


def refusal_body(message: str, *, reason: str) -> bytes:
    """The response body for a request refused before GraphQL runs (a transport rule).

    The same envelope as a GraphQL error, so clients need one error parser.
    """
    error = GraphQLError(message, extensions=contract_extensions("BAD_USER_INPUT", reason=reason))
    return json.dumps({"errors": [error.formatted]}).encode()


def internal_error_body(request_id: str) -> bytes:
    """The body for a request that failed outside any operation: the id to quote, nothing more."""
    error = GraphQLError(
        INTERNAL_MESSAGE, extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    )
    return json.dumps({"errors": [error.formatted]}).encode()


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


def translate_errors(execution: ExecutionContext, *, executing: bool) -> None:
    """Maps the result's domain errors to codes and masks everything unexpected, in place.

    An unexpected error is logged in full with the request id, and the client
    gets only INTERNAL_SERVER_ERROR and that id: never a traceback, SQL or secret.
    `executing`: whether execution began (then a client error is variable coercion).
    """
    result = execution.result
    if result is not None and result.errors:
        result.errors = [_translate(error, execution, executing) for error in result.errors]


def _translate(error: GraphQLError, execution: ExecutionContext, executing: bool) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        return _with(error, wire_message(original), wire_extensions(original))
    if is_unexpected(error):
        return _masked(error, execution)
    if (error.extensions or {}).get("code"):  # a GraphQLError with a client code of its own
        return error
    message = without_values(error.message)
    if execution.schema.config.disable_field_suggestions:
        # Production: graphql-core also suggests arguments, enum values and input
        # fields, which Strawberry's switch leaves in; they map the schema out.
        message = _SUGGESTION.sub("", message)
    if execution.graphql_document is None:
        code = "GRAPHQL_PARSE_FAILED"
    else:  # errors before execution are validation; during it, variable coercion
        code = "BAD_USER_INPUT" if executing else "GRAPHQL_VALIDATION_FAILED"
    return _with(error, message, {**(error.extensions or {}), "code": code})


def translate_outside_operation(errors: list[GraphQLError], execution: ExecutionContext) -> None:
    """Gives errors that never reach translate_errors the contract's shape, in place.

    Strawberry answers some failures after the operation hooks have exited:
    a document that does not parse (with the parser cache, the parse happens
    in a hook) and an exception escaping an extension hook.
    """
    # The operation's own result errors still pass through translate_errors; any other list
    # was made after the hooks ran (or before a result existed) and is ours to shape.
    outside = execution.result is None or errors is not execution.result.errors
    for index, error in enumerate(errors):
        if (error.extensions or {}).get("code"):
            continue
        if is_unexpected(error) and outside:
            errors[index] = _masked(error, execution)
        elif execution.graphql_document is None:
            errors[index] = _with(error, error.message, contract_extensions("GRAPHQL_PARSE_FAILED"))


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
