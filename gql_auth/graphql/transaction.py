"""The request boundary owns the transaction: commit after the operation, or roll back."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gql_auth.graphql.context import Context
from gql_auth.graphql.errors import is_unexpected


class RequestTransaction(SchemaExtension):
    """Commits once the whole operation has run.

    Refusals (domain errors) still commit: a failed sign-in must leave its
    LOGIN_FAILED event behind, and policy code raises before it writes
    anything else. Only unexpected errors roll the request back.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if not isinstance(context, Context):
            yield
            return
        try:
            yield
        except BaseException:
            await context.finish(commit=False)
            raise
        result = self.execution_context.result
        errors = (result.errors if result is not None else None) or []
        wanted = not any(is_unexpected(error) for error in errors)
        try:
            kept = await context.finish(commit=wanted)
            if wanted and not kept and not errors:
                raise RuntimeError("the transaction could not be committed")  # noqa: TRY301
        except Exception as exc:  # reported to the client as INTERNAL_SERVER_ERROR
            if result is not None:
                # Nothing the response would claim has happened was saved.
                result.data = None
                result.errors = [*errors, GraphQLError("commit failed", original_error=exc)]
