"""The request boundary owns the transaction: commit after the operation, or roll back."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from gql_auth.core.database import transient_conflict_of
from gql_auth.graphql.context import Context
from gql_auth.graphql.engine.errors import is_unexpected

# Refusals (domain errors) still commit: a failed sign-in must leave its
# LOGIN_FAILED event behind, and policy code raises before it writes anything
# else. Only unexpected errors roll the request back. A rollback after a
# deadlock or lock timeout is flagged on the context, so the view can run the
# operation once more (gql_auth.web.app).


async def end_after_exception(context: Context, error: BaseException) -> None:
    """The operation raised: nothing it did is kept."""
    await context.finish(commit=False)
    context.conflict = transient_conflict_of(error) if isinstance(error, Exception) else None


async def end_after_result(context: Context, execution: ExecutionContext) -> None:
    """Commits once the whole operation has run, unless an unexpected error says otherwise."""
    result = execution.result
    errors = (result.errors if result is not None else None) or []
    wanted = not any(is_unexpected(error) for error in errors)
    try:
        kept = await context.finish(commit=wanted)
        if wanted and not kept and not errors:
            raise RuntimeError("the transaction could not be committed")  # noqa: TRY301
    except Exception as exc:  # reported to the client as INTERNAL_SERVER_ERROR
        context.conflict = transient_conflict_of(exc)
        if result is not None:
            # Nothing the response would claim has happened was saved.
            result.data = None
            result.errors = [*errors, GraphQLError("commit failed", original_error=exc)]
        return
    if not wanted:  # rolled back: nothing of this attempt was kept
        context.conflict = _conflict_among(errors)


def _conflict_among(errors: list[GraphQLError]) -> BaseException | None:
    """The first deadlock or lock timeout behind the operation's errors, if any."""
    for error in errors:
        if error.original_error is not None:
            conflict = transient_conflict_of(error.original_error)
            if conflict is not None:
                return conflict
    return None
