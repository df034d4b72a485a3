"""Which root fields an API key may use: declared on the field, default deny.

A root field declares the scope a key needs (`KeyScope(Scope.PROFILE_READ)`),
which the SDL shows as `@apiKeyScope`. A request made with a key runs only
root fields that declare one the key holds, and whose role its owner holds
now; every other root field answers FORBIDDEN / API_KEY_NOT_ALLOWED, so a
field added later is closed to keys until it says otherwise. Fields inside
the answer are guarded by their own permission classes, run as the key's owner.

The gate is graphql-core middleware, passed to an operation only when its
request presents a key: requests with access tokens never pay for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry.extensions import FieldExtension
from strawberry.schema_directive import Location

from gql_auth.api_keys.scopes import Scope, parse_stored
from gql_auth.core.errors import ApiKeyNotAllowed, MissingScope, Unauthenticated
from gql_auth.graphql.context import Context
from gql_auth.graphql.strawberry_compat import NameConverter, object_fields


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="apiKeyScope",
    description="A request made with an API key may use this field only when the key holds "
    "this scope and its owner's role holds it now; fields without it are closed to API keys.",
)
class ApiKeyScopeDirective:
    scope: str


class KeyScope(FieldExtension):
    """Declares the scope an API key needs for this root field, and shows it in the SDL.

    Declarative: it takes no part in resolving (Strawberry leaves extensions
    without `resolve` out of the chain); KeyScopeGate reads the declarations.
    """

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._directive = ApiKeyScopeDirective(scope=scope.value)

    def apply(self, field: Any) -> None:
        if self._directive not in field.directives:  # applied again by every schema built
            field.directives.append(self._directive)


def declared_scopes(root: type, names: NameConverter) -> dict[str, Scope]:
    """The root fields of a type that declare a KeyScope, by GraphQL name."""
    return {
        names.from_field(field): extension.scope
        for field in object_fields(root)
        for extension in field.extensions
        if isinstance(extension, KeyScope)
    }


class KeyScopeGate:
    """graphql-core middleware for requests made with an API key: checks each root field."""

    def __init__(self, scopes: Mapping[str, Mapping[str, Scope]]) -> None:
        self._scopes = scopes  # root type name -> field name -> scope

    def resolve(
        self,
        next_: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Context],
        **arguments: Any,
    ) -> Any:
        if info.path.prev is not None:  # inside an answer: its own permission classes guard it
            return next_(root, info, **arguments)
        if info.field_name.startswith("__"):  # __typename and the schema: no data of anyone's
            return next_(root, info, **arguments)
        return self._checked(next_, root, info, arguments)

    async def _checked(
        self,
        next_: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Context],
        arguments: dict[str, Any],
    ) -> Any:
        context = info.context
        authentication = await context.authentication()
        viewer = authentication.viewer
        if viewer is None or viewer.api_key is None:
            raise authentication.failure or Unauthenticated()
        scope = self._scopes.get(info.parent_type.name, {}).get(info.field_name)
        if scope is None:
            raise ApiKeyNotAllowed
        # The key's scopes, cut to what its owner's role holds now: a demotion applies at once.
        if scope not in parse_stored(viewer.api_key.scopes) or not viewer.user.role.includes(
            scope.role
        ):
            raise MissingScope(scope.value)
        result = next_(root, info, **arguments)
        return await result if inspect.isawaitable(result) else result
