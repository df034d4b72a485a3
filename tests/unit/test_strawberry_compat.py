"""The fence around Strawberry's and graphql-core's internals (graphql/strawberry_compat.py).

An upgrade that changes a method we override, or moves an internal we use,
fails here by name instead of somewhere inside a request.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from graphql import GraphQLError, TypeInfo, ValidationContext, build_schema, parse
from graphql.validation import OverlappingFieldsCanBeMergedRule

from gql_auth.graphql import strawberry_compat
from gql_auth.graphql.engine.document_rules import OVERLAP_BUDGET, BoundedOverlappingFieldsRule
from gql_auth.graphql.schema import Schema
from gql_auth.web.view import GraphQLView

PACKAGE = Path(strawberry_compat.__file__).parents[1]  # gql_auth/
COMPAT = Path(strawberry_compat.__file__)

# Strawberry's and graphql-core's public API: what any module may import.
PUBLIC = {
    "strawberry",
    "strawberry.asgi",
    "strawberry.exceptions",
    "strawberry.extensions",
    "strawberry.fastapi",
    "strawberry.permission",
    "strawberry.schema.config",
    "strawberry.schema_directive",
    "strawberry.tools",
    "strawberry.types",
    "graphql",
    "graphql.validation",
}
# Private attributes only the fence may touch.
PRIVATE_ATTRIBUTES = {"_schema", "_create_execution_context", "remaining_complexity_budget"}


def resolve(dotted: str) -> object:
    module_name, _, attribute_path = dotted.partition(".")
    target: object = importlib.import_module(module_name)
    for part in attribute_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            target = importlib.import_module(f"{module_name}.{part}")
        module_name = f"{module_name}.{part}"
    return target


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.split(".")[0] in {"strawberry", "graphql"}}


class TestOverriddenSignatures:
    @pytest.mark.parametrize("dotted", sorted(strawberry_compat.OVERRIDDEN))
    def test_the_installed_strawberry_has_the_parameters_we_rely_on(self, dotted: str) -> None:
        function = resolve(dotted)
        assert callable(function), dotted
        parameters = tuple(inspect.signature(function).parameters)

        assert parameters == strawberry_compat.OVERRIDDEN[dotted]

    def test_our_execute_accepts_whatever_strawberrys_does(self) -> None:
        ours = tuple(inspect.signature(Schema.execute).parameters)

        assert ours[: len(ours) - 1] == strawberry_compat.OVERRIDDEN["strawberry.Schema.execute"]
        assert ours[-1] == "document_id"  # ours only, keyword-only

    @pytest.mark.parametrize("method", ["get_context", "decode_json", "render_graphql_ide"])
    def test_our_view_overrides_keep_strawberrys_parameters(self, method: str) -> None:
        ours = tuple(inspect.signature(getattr(GraphQLView, method)).parameters)

        assert ours == strawberry_compat.OVERRIDDEN[f"strawberry.asgi.GraphQL.{method}"]


class TestOverlapBudget:
    def test_the_budget_is_a_slot_graphql_core_reads(self) -> None:
        # A slot: setting a renamed attribute would raise instead of doing nothing.
        schema = build_schema("type Query { a: Int }")
        errors: list[GraphQLError] = []
        context = ValidationContext(schema, parse("{ a }"), TypeInfo(schema), errors.append)
        plain = OverlappingFieldsCanBeMergedRule(context)
        bounded = BoundedOverlappingFieldsRule(context)

        assert "remaining_complexity_budget" in type(plain.rule_context).__slots__
        assert bounded.rule_context.remaining_complexity_budget == OVERLAP_BUDGET


class TestTheFence:
    def test_only_the_fence_imports_internals(self) -> None:
        offenders = {
            f"{path.relative_to(PACKAGE)}: {module}"
            for path in PACKAGE.rglob("*.py")
            if path != COMPAT
            for module in imported_modules(path) - PUBLIC
        }

        assert offenders == set()

    def test_only_the_fence_touches_private_attributes(self) -> None:
        offenders = {
            f"{path.relative_to(PACKAGE)}: {node.attr}"
            for path in PACKAGE.rglob("*.py")
            if path != COMPAT
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute)
            and node.attr in PRIVATE_ATTRIBUTES
            # our own classes may have a `_schema` of their own
            and not (isinstance(node.value, ast.Name) and node.value.id == "self")
        }

        assert offenders == set()

    def test_the_fence_itself_uses_internals(self) -> None:
        # Sanity check of the walk: the one allowed importer is seen importing them.
        assert imported_modules(COMPAT) - PUBLIC
