"""Who may read a User's private fields is the request's say-so, never the object's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import strawberry
from starlette.requests import Request

from gql_auth.core.errors import Unauthenticated
from gql_auth.core.models import Role
from gql_auth.graphql.api.types import User
from gql_auth.graphql.context import Context, Info
from gql_auth.services import build_services
from gql_auth.users.models import User as UserRow
from tests.support.helpers import make_settings

ROW = UserRow(
    id=7,
    username="alice",
    username_key="alice",
    email="alice@example.com",
    email_key="alice@example.com",
    email_verified=False,
    pending_email=None,
    role=Role.USER,
    is_active=True,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    last_login_at=None,
)


@strawberry.type
class Query:
    @strawberry.field
    def built(self) -> User:
        return User.from_row(ROW)

    @strawberry.field
    def proven(self, info: Info) -> User:
        info.context.vouch_for(ROW.id)
        return User.from_row(ROW)

    @strawberry.field
    def someone_else_proven(self, info: Info) -> User:
        info.context.vouch_for(ROW.id + 1)
        return User.from_row(ROW)


SCHEMA = strawberry.Schema(query=Query)


@pytest.fixture
async def context() -> AsyncIterator[Context]:
    """An anonymous request's context: no Authorization header, so no viewer."""
    services = build_services(make_settings("sqlite:///:memory:"))
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": []}
    try:
        yield Context(services, Request(scope), request_id="unit")
    finally:
        await services.aclose()


async def email_of(field: str, context: Context) -> tuple[object, list[BaseException | None]]:
    result = await SCHEMA.execute(f"{{ {field} {{ id email }} }}", context_value=context)
    assert result.data is not None, result.errors
    return result.data[field]["email"], [e.original_error for e in result.errors or []]


class TestSelfAccess:
    async def test_a_user_built_without_the_contexts_say_so_is_guarded(
        self, context: Context
    ) -> None:
        email, failures = await email_of("built", context)

        assert email is None
        assert len(failures) == 1
        assert isinstance(failures[0], Unauthenticated)

    async def test_a_user_the_request_proved_to_be_is_readable(self, context: Context) -> None:
        email, failures = await email_of("proven", context)

        assert (email, failures) == ("alice@example.com", [])

    async def test_the_say_so_covers_only_the_user_it_names(self, context: Context) -> None:
        email, failures = await email_of("someoneElseProven", context)

        assert email is None
        assert len(failures) == 1
        assert isinstance(failures[0], Unauthenticated)

    def test_the_context_vouches_for_nobody_by_default(self, context: Context) -> None:
        assert not context.vouches_for(str(ROW.id))

    def test_the_context_vouches_for_the_user_it_was_told(self, context: Context) -> None:
        context.vouch_for(ROW.id)

        assert context.vouches_for(str(ROW.id))
        assert not context.vouches_for(str(ROW.id + 1))
