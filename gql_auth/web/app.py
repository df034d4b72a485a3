"""create_app(settings): the one place that wires settings, services, schema and HTTP."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from fastapi import FastAPI, Request, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.graphql import OperationType

from gql_auth import sessions
from gql_auth.config import Settings, get_settings
from gql_auth.graphql.context import Context
from gql_auth.graphql.document_ids import MalformedDocumentId, requested_document_id
from gql_auth.graphql.schema import build_schema
from gql_auth.logging_setup import configure_logging
from gql_auth.metrics import Metrics
from gql_auth.ratelimit import recording_reservations
from gql_auth.services import Services, build_services
from gql_auth.web import graphiql, introspection, jwks
from gql_auth.web.edge import Edge
from gql_auth.web.http_guards import RequestGuard, answer_media_type, parsed_body, refuse
from gql_auth.web.negotiation import GRAPHQL_RESPONSE, content_type, request_error_status

logger = logging.getLogger("gql_auth")

Outcome = ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult
# Before the second attempt, a pause up to this long, so two transactions
# that deadlocked each other do not meet again in step.
RETRY_JITTER_SECONDS = 0.05


@dataclass
class _RequestData(GraphQLRequestData):
    document_id: str | None = None  # the trusted document named, as document_ids reads it


class _RequestAdapter(StarletteRequestAdapter):
    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.scope = request.scope


class _GraphQLApp(GraphQL[Context, None]):
    """Strawberry's plain ASGI view, routed by path.

    FastAPI's GraphQLRouter solved a chain of dependencies on every request,
    about 8 % of the CPU of an authenticated query (docs/performance.md).
    It reads the body RequestGuard already decoded, adds trusted-document
    ids to what a request may carry, and answers in the media type the
    guard negotiated, with GraphQL over HTTP's statuses for
    application/graphql-response+json.
    """

    request_adapter_class = _RequestAdapter

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(**options)
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except MalformedDocumentId as error:  # raised while reading the body: nothing ran
            media_type = answer_media_type(scope)
            await refuse(send, 400, error.reason, str(error), media_type=media_type)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's checks on the object RequestGuard decoded, plus the document id.

        Strawberry's own parse would decode the JSON again and drop `documentId`.
        """
        body = parsed_body(request.scope) if isinstance(request, _RequestAdapter) else None
        if body is None:
            return await super().parse_http_body(request)
        query, variables, extensions = (body.get(key) for key in _TYPED_KEYS)
        if not isinstance(query, str | None):
            raise HTTPException(400, _TYPED_KEYS["query"])
        if not isinstance(variables, dict | None):
            raise HTTPException(400, _TYPED_KEYS["variables"])
        if not isinstance(extensions, dict | None):
            raise HTTPException(400, _TYPED_KEYS["extensions"])
        return _RequestData(
            query=query,
            variables=variables,
            operation_name=body.get("operationName"),
            extensions=extensions,
            document_id=requested_document_id(body),
        )

    async def execute_single(  # Strawberry's signature (0.341)
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, with the document id handed to Schema.execute."""
        if not isinstance(request_data, _RequestData) or request_data.document_id is None:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        return await self.schema.execute(  # type: ignore[call-arg]  # our Schema's keyword
            request_data.query,
            root_value=root_value,
            variable_values=request_data.variables,
            context_value=context,
            operation_name=request_data.operation_name,
            allowed_operation_types=OperationType.from_http(request_adapter.method),
            operation_extensions=request_data.extensions,
            document_id=request_data.document_id,
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = process_result(result)
        if answer_media_type(request.scope) == GRAPHQL_RESPONSE and _is_request_error(result):
            del response["data"]  # GraphQL over HTTP: no data entry when nothing was executed
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = content_type(GRAPHQL_RESPONSE).decode()
            if isinstance(response_data, dict) and "data" not in response_data:
                response.status_code = request_error_status(response_data)
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = answer_media_type(request.scope)
        return sub_response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if not isinstance(request, Request):
            raise TypeError("/graphql serves HTTP only")
        return Context(self._services, request, request.state.request_id)

    async def execute_operation(  # Strawberry's signature (0.341)
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Outcome:
        """Runs the operation; once more, in a fresh transaction, after a deadlock.

        RequestTransaction flags the context only when it rolled back, so
        nothing of the first attempt was saved and its after-commit callbacks
        (mails) were dropped with it; the second attempt answers either way.
        """
        run = super().execute_operation

        async def attempt(context: Context) -> Outcome:
            return await run(
                request=request,
                request_adapter=request_adapter,
                request_data=request_data,
                context=context,
                root_value=root_value,
                sub_response=sub_response,
            )

        with recording_reservations() as reserved:
            result = await attempt(context)
        if not context.retrying:
            return result
        logger.warning(
            "request %s: deadlock or lock timeout, nothing was saved; running it once more",
            context.request_id,
        )
        # Nothing of the first attempt counts, its attempts under the limits neither:
        # the second one reserves them again.
        for reservation in reserved:
            await reservation.refund_all()
        await asyncio.sleep(random.uniform(0, RETRY_JITTER_SECONDS))  # noqa: S311 - not a secret
        second = await self.get_context(request, sub_response)
        second.may_retry = False  # once: a second conflict is answered as an error
        return await attempt(second)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Our offline, auth-aware page instead of Strawberry's, which loads from a CDN.
        return graphiql.page_response(request.url.path)


# Strawberry's answers to a request whose fields have the wrong type, kept as they were.
_TYPED_KEYS = {
    "query": "The GraphQL operation's `query` must be a string or null, if provided.",
    "variables": "The GraphQL operation's `variables` must be an object or null, if provided.",
    "extensions": "The GraphQL operation's `extensions` must be an object or null, if provided.",
}


def _is_request_error(result: ExecutionResult) -> bool:
    """Nothing was executed: no data, and no error from a field (those carry a path)."""
    return result.data is None and all(error.path is None for error in result.errors or ())


def create_app(settings: Settings) -> FastAPI:
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.aclose()

    app = FastAPI(
        title="gql-auth",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services

    graphql: ASGIApp = RequestGuard(
        _GraphQLApp(
            services,
            schema=build_schema(settings),
            graphql_ide=None if settings.is_production else "graphiql",
            # GET never runs operations: it would make them cross-site requestable.
            allow_queries_via_get=False,
        ),
        max_body_bytes=settings.max_body_bytes,
    )
    if not settings.is_production:
        graphiql.mount_static(app)
    app.add_api_route("/healthz", _health_endpoint(services), methods=["GET"])
    jwks.mount(app, services)
    introspection.mount(app, services)
    if services.metrics is not None:
        app.add_api_route(
            "/metrics", _metrics_endpoint(services, services.metrics), methods=["GET"]
        )
    if settings.cors_origins:
        graphql = _cors(graphql, settings.cors_origins)  # outside the guard: refusals readable
        app.add_middleware(_cors, origins=settings.cors_origins)
    # Added last runs first: the request id is outermost, so even a 413 carries one.
    app.add_middleware(Edge, graphql=graphql)
    return app


def _cors(app: ASGIApp, origins: list[str]) -> ASGIApp:
    return CORSMiddleware(
        app,
        allow_origins=origins,
        allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type"],
        expose_headers=["x-request-id"],
        max_age=600,
    )


def _health_endpoint(services: Services):  # type: ignore[no-untyped-def]
    async def healthz() -> JSONResponse:
        try:
            async with services.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"; the reason goes to the log
            logger.exception("health check: database unreachable")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return healthz


def _metrics_endpoint(services: Services, metrics: Metrics):  # type: ignore[no-untyped-def]
    async def metrics_page() -> Response:
        try:
            async with services.session_factory() as db:
                metrics.active_sessions.set(await sessions.count_live(db))
        except Exception:  # the other figures are still worth scraping
            logger.exception("metrics: could not count live sessions")
        return Response(metrics.exposition(), media_type=metrics.content_type)

    return metrics_page


def app_from_environment() -> FastAPI:
    """Factory for uvicorn (`--factory`), so each worker reads the same settings."""
    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)
