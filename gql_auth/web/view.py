"""Strawberry's ASGI view, for what is not a decoded POST: GraphiQL and the refusals.

Every POST that RequestGuard decoded runs in web/operation_endpoint.py; this
view answers the rest as Strawberry does: GraphiQL on GET in development
(404 in production), 400 for a GET naming an operation (operations never
run via GET: that would make them cross-site requestable), 405 for other
methods.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from strawberry.asgi import GraphQL

from gql_auth.graphql.context import Context
from gql_auth.security import json_input
from gql_auth.services import Services
from gql_auth.web import graphiql


class GraphQLView(GraphQL[Context, None]):
    """Built once per app by create_app, with the services its contexts use."""

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(**options)
        self._services = services

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if not isinstance(request, Request):
            raise TypeError("/graphql serves HTTP only")
        return Context(self._services, request, request.state.request_id)

    def decode_json(self, data: str | bytes) -> object:
        # GET's `variables` and `extensions`: nesting bounded before json.loads recurses;
        # TooDeep is a JSONDecodeError, which Strawberry answers with a 400.
        text = data if isinstance(data, str) else data.decode("utf-8")
        return json_input.loads(text)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Our offline, auth-aware page instead of Strawberry's, which loads from a CDN.
        return graphiql.page_response(request.url.path)
