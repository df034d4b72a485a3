"""Records what each operation was and how it ended, for the request log and metrics."""

from __future__ import annotations

import logging
import time

from graphql import FieldNode, OperationDefinitionNode
from strawberry.types import ExecutionContext

from gql_auth.graphql.context import Context
from gql_auth.observability.request_log import request_details

logger = logging.getLogger("gql_auth.requests")


class OutcomeRecorder:
    """Writes what an operation was and how it ended into the log line and the metrics.

    Called last, after the transaction ended and errors were translated, so it
    sees the final codes.
    """

    def __init__(self, password_checks: frozenset[str]) -> None:
        # Root fields that verify a password: UNAUTHENTICATED there is a failed sign-in.
        self._password_checks = password_checks

    def record(
        self, execution: ExecutionContext, context: Context, *, started: float, executed: bool
    ) -> None:
        if context.retrying:
            return  # a rolled-back attempt that runs again: only the retry is recorded
        try:
            self._record(execution, context, started, executed)
        except Exception:  # bookkeeping must never break an answer already made
            logger.exception("could not record the outcome of an operation")

    def _record(
        self, execution: ExecutionContext, context: Context, started: float, executed: bool
    ) -> None:
        result = execution.result
        errors = (result.errors if result is not None else None) or []
        extensions = (errors[0].extensions or {}) if errors else {}
        outcome = str(extensions.get("code", "ERROR")) if errors else "OK"
        # A right password that still needs its second factor is no failed sign-in.
        refused = outcome == "UNAUTHENTICATED" and extensions.get("reason") != "MFA_REQUIRED"
        operation = _operation_label(execution) if executed else "invalid"
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


def _operation_label(execution: ExecutionContext) -> str:
    """The root field run, e.g. "login": bounded by the schema, unlike operation names.

    Only validated documents are executed, so every name is a real root field
    and the label set cannot be inflated by clients.
    """
    document = execution.graphql_document
    if document is None:
        return "invalid"
    wanted = execution.operation_name
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
