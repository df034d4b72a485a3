"""gql-auth's whole per-operation work as one Strawberry extension.

Strawberry builds every extension per request and looks up each hook of
each of them around every step; five small extensions cost more than the
work they did (docs/performance.md). Here the steps run in one place, in the
order they must: limits on the document, then, after execution, the
transaction, error translation and the outcome record.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

from graphql import ASTValidationRule
from strawberry.extensions import SchemaExtension

from gql_auth.graphql.context import Context
from gql_auth.graphql.documents import DocumentCheck
from gql_auth.graphql.errors import translate_errors
from gql_auth.graphql.observe import OutcomeRecorder
from gql_auth.graphql.transaction import end_after_exception, end_after_result


class OperationHooks(SchemaExtension):
    def __init__(
        self,
        documents: DocumentCheck,
        recorder: OutcomeRecorder,
        *,
        max_tokens: int,
        extra_rules: tuple[type[ASTValidationRule], ...],
    ) -> None:
        self._documents = documents
        self._recorder = recorder
        self._max_tokens = max_tokens
        self._extra_rules = extra_rules
        self._known_valid = False
        self._executing = False

    async def on_operation(self) -> AsyncIterator[None]:
        execution = self.execution_context
        started = time.perf_counter()
        execution.parse_options["max_tokens"] = self._max_tokens
        if self._extra_rules:
            execution.validation_rules = (*execution.validation_rules, *self._extra_rules)
        context = execution.context
        if not isinstance(context, Context):  # schema.execute without a request
            yield
            translate_errors(execution, executing=self._executing)
            return
        try:
            yield
        except BaseException as error:
            await end_after_exception(context, error)
            raise
        await end_after_result(context, execution)
        translate_errors(execution, executing=self._executing)
        self._recorder.record(execution, context, started=started, executed=self._executing)

    def on_parse(self) -> Iterator[None]:
        self._known_valid = self._documents.before_parse(self.execution_context)
        yield
        self._documents.after_parse(self.execution_context)

    def on_validate(self) -> Iterator[None]:
        self._documents.validate(self.execution_context, known_valid=self._known_valid)
        yield

    def on_execute(self) -> Iterator[None]:
        self._executing = True
        yield
