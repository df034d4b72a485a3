"""The one module that touches Strawberry's and graphql-core's internals.

gql_auth runs operations itself (engine/execution.py) and overrides a few
Strawberry methods; what that relies on beyond the public API is named here
and nowhere else, so an upgrade breaks in one place. A unit test
(tests/unit/test_strawberry_compat.py) fails when a signature below changes
in the installed version, and another when any other module imports an
internal. pyproject.toml pins both libraries to the tested minor version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLSchema
from graphql.validation import OverlappingFieldsCanBeMergedRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.execution import optimized_is_awaitable
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, validate_document
from strawberry.types.base import get_object_definition
from strawberry.types.graphql import OperationType

if TYPE_CHECKING:
    import strawberry

__all__ = [
    "DEFAULT_ALLOWED_OPERATION_TYPES",
    "OVERRIDDEN",
    "CannotGetOperationTypeError",
    "GraphQLHTTPResponse",
    "InvalidOperationTypeError",
    "NameConverter",
    "OperationType",
    "ValidationAbortedError",
    "describe_type",
    "graphql_schema_of",
    "optimized_is_awaitable",
    "process_result",
    "set_overlap_budget",
    "validate_document",
]

# The Strawberry methods gql_auth overrides or calls though they are not public, with
# the parameters it passes or accepts (as in strawberry-graphql 0.341).
OVERRIDDEN: dict[str, tuple[str, ...]] = {
    # graphql/schema.py Schema.execute: runs the operation through engine/execution.py.
    "strawberry.Schema.execute": (
        "self",
        "query",
        "variable_values",
        "context_value",
        "root_value",
        "operation_name",
        "allowed_operation_types",
        "operation_extensions",
    ),
    # Called by Schema.execute to build the ExecutionContext the engine runs.
    "strawberry.Schema._create_execution_context": (
        "self",
        "query",
        "allowed_operation_types",
        "variable_values",
        "context_value",
        "root_value",
        "operation_name",
        "operation_extensions",
    ),
    # graphql/schema.py: errors reported outside an operation get the contract's shape.
    "strawberry.Schema.process_errors": ("self", "errors", "execution_context"),
    # web/view.py GraphQLView: our context, bounded JSON, our offline GraphiQL page.
    "strawberry.asgi.GraphQL.get_context": ("self", "request", "response"),
    "strawberry.asgi.GraphQL.decode_json": ("self", "data"),
    "strawberry.asgi.GraphQL.render_graphql_ide": ("self", "request"),
}


def graphql_schema_of(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema a Strawberry schema wraps (kept in a private attribute)."""
    return schema._schema


def describe_type(cls: type, description: str) -> None:
    """Sets the SDL description of a Strawberry type built with merge_types."""
    get_object_definition(cls, strict=True).description = description


def create_execution_context(schema: strawberry.Schema, **options: Any) -> Any:
    """Strawberry's own ExecutionContext for one request (a private method of Schema)."""
    return schema._create_execution_context(**options)


def set_overlap_budget(rule: OverlappingFieldsCanBeMergedRule, budget: int) -> None:
    """The work graphql-core's overlapping-fields rule may spend before aborting validation."""
    rule.rule_context.remaining_complexity_budget = budget


def object_fields(cls: type) -> list[Any]:
    """The fields of a Strawberry object type, as Strawberry defines them."""
    return list(get_object_definition(cls, strict=True).fields)
