"""POST /graphql: from the body RequestGuard decoded to the operation's answer.

The guard has bounded and decoded the body and picked the answer's media
type; what is left is the request's shape, the operation (run once more
after a deadlock) and the JSON answer. Strawberry's view did the same through
a request adapter, a sub-response, a Response and a dozen hooks per request,
about a tenth of an authenticated query's CPU (docs/performance.md); it
still serves GET (GraphiQL, and its refusals) and every other method.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.types import ExecutionResult

from gql_auth.core.database import conflict_code
from gql_auth.graphql.context import Context
from gql_auth.graphql.engine.document_ids import MalformedDocumentId, requested_document_id
from gql_auth.graphql.schema import Schema
from gql_auth.graphql.strawberry_compat import (
    CannotGetOperationTypeError,
    GraphQLHTTPResponse,
    InvalidOperationTypeError,
    OperationType,
    process_result,
)
from gql_auth.limits.limiter import recording_reservations
from gql_auth.services import Services
from gql_auth.web.http_guards import answer_media_type, parsed_body, refuse
from gql_auth.web.negotiation import GRAPHQL_RESPONSE, content_type, request_error_status
from gql_auth.web.responses import send_body

logger = logging.getLogger("gql_auth")

# Before the second attempt, a pause up to this long, so two transactions
# that deadlocked each other do not meet again in step.
RETRY_JITTER_SECONDS = 0.05
_POST_OPERATIONS = OperationType.from_http("POST")
# Strawberry's answers to a request whose fields have the wrong type, kept as they were.
_TYPED_KEYS = {
    "query": "The GraphQL operation's `query` must be a string or null, if provided.",
    "variables": "The GraphQL operation's `variables` must be an object or null, if provided.",
    "extensions": "The GraphQL operation's `extensions` must be an object or null, if provided.",
}


@dataclass(frozen=True, slots=True)
class Operation:
    """What one request asks to run, as its body says it."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    document_id: str | None


class RequestRefused(Exception):
    """Strawberry's plain-text 400s (a wrong field type, no query, no usable operation)."""


def operation_of(body: dict[str, Any]) -> Operation:
    """The operation a decoded body names, or RequestRefused / MalformedDocumentId."""
    query, variables, extensions = (body.get(key) for key in _TYPED_KEYS)
    if not isinstance(query, str | None):
        raise RequestRefused(_TYPED_KEYS["query"])
    if not isinstance(variables, dict | None):
        raise RequestRefused(_TYPED_KEYS["variables"])
    if not isinstance(extensions, dict | None):
        raise RequestRefused(_TYPED_KEYS["extensions"])
    return Operation(
        query=query,
        variables=variables,
        operation_name=body.get("operationName"),
        extensions=extensions,
        document_id=requested_document_id(body),
    )


class OperationEndpoint:
    """Every POST the guard let through; anything else goes on to Strawberry's view."""

    def __init__(self, view: ASGIApp, *, services: Services, schema: Schema) -> None:
        self._view = view
        self._services = services
        self._schema = schema

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = parsed_body(scope)
        if body is None:  # not a decoded POST: GraphiQL, or a method the view refuses
            await self._view(scope, receive, send)
            return
        media_type = answer_media_type(scope)
        try:
            result = await self._run(Request(scope, receive), operation_of(body))
        except MalformedDocumentId as error:
            await refuse(send, 400, error.reason, str(error), media_type=media_type)
            return
        except RequestRefused as error:
            await send_body(send, 400, b"text/plain; charset=utf-8", str(error).encode())
            return
        answer = _answer(result, media_type)
        status = 200 if "data" in answer else request_error_status(answer)
        encoded = json.dumps(answer, separators=(",", ":")).encode()
        await send_body(send, status, content_type(media_type), encoded)

    async def _run(self, request: Request, operation: Operation) -> ExecutionResult:
        """The operation; once more, in a fresh transaction, after a deadlock.

        The transaction flags the context only when it rolled back, so nothing
        of the first attempt was saved and its after-commit callbacks (mails)
        were dropped with it; the second attempt answers either way.
        """
        context = self._context(request)
        with recording_reservations() as reserved:
            result = await self._execute(operation, context)
        if not context.retrying:
            return result
        logger.warning(
            "request %s: deadlock or lock timeout, nothing was saved; running it once more (%s)",
            context.request_id,
            conflict_code(context.conflict) if context.conflict is not None else None,
        )
        # Nothing of the first attempt counts, its attempts under the limits neither:
        # the second one reserves them again.
        for reservation in reserved:
            await reservation.refund_all()
        await asyncio.sleep(random.uniform(0, RETRY_JITTER_SECONDS))  # noqa: S311 - not a secret
        second = self._context(request)
        second.may_retry = False  # once: a second conflict is answered as an error
        return await self._execute(operation, second)

    def _context(self, request: Request) -> Context:
        return Context(self._services, request, request.state.request_id)

    async def _execute(self, operation: Operation, context: Context) -> ExecutionResult:
        try:
            return await self._schema.execute(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                operation_name=operation.operation_name,
                allowed_operation_types=_POST_OPERATIONS,
                operation_extensions=operation.extensions,
                document_id=operation.document_id,
            )
        except CannotGetOperationTypeError as error:  # Strawberry's plain-text answers
            raise RequestRefused(error.as_http_error_reason()) from error
        except InvalidOperationTypeError as error:
            raise RequestRefused(error.as_http_error_reason("POST")) from error
        except MissingQueryError as error:
            raise RequestRefused("No GraphQL query found in the request") from error


def _answer(result: ExecutionResult, media_type: str) -> GraphQLHTTPResponse:
    answer = process_result(result)
    if media_type == GRAPHQL_RESPONSE and _is_request_error(result):
        del answer["data"]  # GraphQL over HTTP: no data entry when nothing was executed
    return answer


def _is_request_error(result: ExecutionResult) -> bool:
    """Nothing was executed: no data, and no error from a field (those carry a path)."""
    return result.data is None and all(error.path is None for error in result.errors or ())
