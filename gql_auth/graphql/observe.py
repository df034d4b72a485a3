"""Records what each operation was and how it ended, for the request log and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from gql_auth.graphql.context import Context
from gql_auth.request_log import request_details

logger = logging.getLogger("gql_auth.requests")


class RecordOutcome(SchemaExtension):
    """Outermost extension: it sees the final, translated errors."""

    def __init__(self, password_checks: frozenset[str]) -> None:
        # Root fields that verify a password: UNAUTHENTICATED there is a failed sign-in.
        self._password_checks = password_checks

    async def on_operation(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context.context
        if not isinstance(context, Context) or context.retrying:
            return  # a rolled-back attempt that runs again: only the retry is recorded
        try:
            self._record(context, started)
        except Exception:  # bookkeeping must never break an answer already made
            logger.exception("could not record the outcome of an operation")

    def _record(self, context: Context, started: float) -> None:
        result = self.execution_context.result
        errors = (result.errors if result is not None else None) or []
        extensions = (errors[0].extensions or {}) if errors else {}
        outcome = str(extensions.get("code", "ERROR")) if errors else "OK"
        # A right password that still needs its second factor is no failed sign-in.
        refused = outcome == "UNAUTHENTICATED" and extensions.get("reason") != "MFA_REQUIRED"
        operation = self._operation_label()
        details = request_details(context.http_request.scope)
        details.update(operation=operation, outcome=outcome)
        user_id = context.known_user_id()
        if user_id is not None:
            details["user_id"] = user_id
        if context.services.metrics is not None:
            context.services.metrics.observe(
                operation=operation,
                outcome=outcome,
                seconds=time.perf_counter() - started,
                failed_sign_in=operation in self._password_checks and refused,
            )

    def on_execute(self) -> Iterator[None]:
        self._executed = True
        yield

    def _operation_label(self) -> str:
        """The root field run, e.g. "login": bounded by the schema, unlike operation names.

        Only validated documents get here with `_executed`, so every name is a
        real root field and the label set cannot be inflated by clients.
        """
        document = self.execution_context.graphql_document
        if document is None or not getattr(self, "_executed", False):
            return "invalid"
        wanted = self.execution_context.operation_name
        operations = [
            node
            for node in document.definitions
            if isinstance(node, OperationDefinitionNode)
            and (wanted is None or (node.name is not None and node.name.value == wanted))
        ]
        fields = {
            selection.name.value
            for operation in operations[:1]
            for selection in operation.selection_set.selections
            if isinstance(selection, FieldNode) and not selection.name.value.startswith("__")
        }
        if len(fields) == 1:
            return fields.pop()
        return "multiple" if fields else "other"
