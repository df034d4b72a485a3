"""How one operation runs: our document checks, graphql-core's execute, then the request's end.

This replaces Strawberry's Schema.execute and its extension machinery,
which built each extension per request and entered a context manager per
hook per step: about as much CPU as the `me` resolver and graphql-core's
execution together (docs/performance.md). The steps and their order are the
ones Strawberry's execute had, with our former extensions' work as plain
calls: the document limits and cache around parse and validation (or a
trusted document, parsed and validated at start-up, in their place); after
execution the transaction, the error translation and the outcome record.
Resolvers, permission classes and field extensions are Strawberry's and run
inside graphql-core's execute as before.
"""

from __future__ import annotations

import inspect
import time

from graphql import ASTValidationRule, GraphQLError, parse
from graphql import execute as execute_document
from strawberry.exceptions import MissingQueryError
from strawberry.types import ExecutionContext, ExecutionResult

from gql_auth.graphql.context import Context
from gql_auth.graphql.engine.documents import DocumentCheck
from gql_auth.graphql.engine.errors import translate_errors, translate_outside_operation
from gql_auth.graphql.engine.observe import OutcomeRecorder
from gql_auth.graphql.engine.transaction import end_after_exception, end_after_result
from gql_auth.graphql.engine.trusted_documents import TrustedDocuments
from gql_auth.graphql.strawberry_compat import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
    graphql_schema_of,
    optimized_is_awaitable,
)

# What the view answers as HTTP errors of its own (400/405) rather than GraphQL errors.
_TRANSPORT_ERRORS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


class OperationRunner:
    """Built once per schema; `run` is the whole life of one operation."""

    def __init__(
        self,
        documents: DocumentCheck,
        recorder: OutcomeRecorder,
        *,
        trusted: TrustedDocuments,
        max_tokens: int,
        extra_rules: tuple[type[ASTValidationRule], ...],
        key_gate: object | None = None,
    ) -> None:
        self.documents = documents
        # graphql-core middleware for requests that present an API key, and only those.
        self._key_middleware = [key_gate] if key_gate is not None else None
        self.trusted = trusted
        self._recorder = recorder
        self._max_tokens = max_tokens
        self._extra_rules = extra_rules

    async def run(
        self, execution: ExecutionContext, *, document_id: str | None = None
    ) -> ExecutionResult:
        started = time.perf_counter()
        if self._extra_rules:
            execution.validation_rules = (*execution.validation_rules, *self._extra_rules)
        context = execution.context
        step = _Step()
        try:
            result = await self._prepare_and_execute(execution, step, document_id)
        except _TRANSPORT_ERRORS as error:
            await _end_after_exception(context, error)
            raise
        except Exception as error:  # an error of ours before execution, e.g. a refused name
            await _end_after_exception(context, error)
            errors = [error if isinstance(error, GraphQLError) else _coerced(error)]
            translate_outside_operation(errors, execution)
            return ExecutionResult(data=None, errors=errors)
        execution.result = result
        if isinstance(context, Context):
            await end_after_result(context, execution)
        translate_errors(execution, executing=step.executing)
        if isinstance(context, Context):
            self._recorder.record(execution, context, started=started, executed=step.executing)
        return execution.result

    async def _prepare_and_execute(
        self, execution: ExecutionContext, step: _Step, document_id: str | None
    ) -> ExecutionResult:
        try:  # first: with trusted documents only, a text is refused before it is parsed
            trusted = self.trusted.resolve(execution.query, document_id)
        except GraphQLError as error:
            return self._refused(execution, [error])
        if trusted is not None:
            execution.query = trusted.text
            execution.graphql_document = trusted.document
            known_valid = True
        elif not execution.query:
            raise MissingQueryError
        else:
            known_valid = self.documents.before_parse(execution)
        if not known_valid:
            try:
                execution.graphql_document = parse(execution.query, max_tokens=self._max_tokens)
            except GraphQLError as error:
                return self._refused(execution, [error])
        self.documents.after_parse(execution)
        try:
            operation_type = execution.operation_type
        except RuntimeError as error:
            raise CannotGetOperationTypeError(execution.operation_name) from error
        if operation_type not in execution.allowed_operations:
            raise InvalidOperationTypeError(operation_type)
        self.documents.validate(execution, known_valid=known_valid)
        if execution.pre_execution_errors:
            return self._refused(execution, execution.pre_execution_errors)
        step.executing = True
        assert execution.graphql_document is not None  # noqa: S101 - set by parse or the cache
        context = execution.context
        presents_key = isinstance(context, Context) and context.presents_api_key
        outcome = execute_document(
            graphql_schema_of(execution.schema),
            execution.graphql_document,
            root_value=execution.root_value,
            context_value=execution.context,
            variable_values=execution.variables,
            operation_name=execution.operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as Strawberry
            middleware=self._key_middleware if presents_key else None,
        )
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return ExecutionResult(data=outcome.data, errors=outcome.errors)

    @staticmethod
    def _refused(execution: ExecutionContext, errors: list[GraphQLError]) -> ExecutionResult:
        """A document that did not parse or validate: answered, nothing runs."""
        execution.pre_execution_errors = errors
        translate_outside_operation(errors, execution)
        return ExecutionResult(data=None, errors=errors)


class _Step:
    """How far an operation got: a client error during execution is variable coercion."""

    __slots__ = ("executing",)

    def __init__(self) -> None:
        self.executing = False


async def _end_after_exception(context: object, error: BaseException) -> None:
    if isinstance(context, Context):
        await end_after_exception(context, error)


def _coerced(error: Exception) -> GraphQLError:
    return GraphQLError(str(error), original_error=error)
