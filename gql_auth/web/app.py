"""create_app(settings): the one place that wires settings, services, schema and HTTP."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from fastapi import FastAPI, Request, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text
from starlette.types import ASGIApp
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult, SubscriptionExecutionResult

from gql_auth import sessions
from gql_auth.config import Settings, get_settings
from gql_auth.graphql.context import Context
from gql_auth.graphql.schema import build_schema
from gql_auth.logging_setup import configure_logging
from gql_auth.metrics import Metrics
from gql_auth.ratelimit import recording_reservations
from gql_auth.services import Services, build_services
from gql_auth.web import graphiql, introspection, jwks
from gql_auth.web.edge import Edge
from gql_auth.web.http_guards import RequestGuard

logger = logging.getLogger("gql_auth")

Outcome = ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult
# Before the second attempt, a pause up to this long, so two transactions
# that deadlocked each other do not meet again in step.
RETRY_JITTER_SECONDS = 0.05


class _GraphQLApp(GraphQL[Context, None]):
    """Strawberry's plain ASGI view, routed by path.

    FastAPI's GraphQLRouter solved a chain of dependencies on every request,
    about 8 % of the CPU of an authenticated query (docs/performance.md).
    """

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(**options)
        self._services = services

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
    app = create_app(settings)
    # What start-up built (modules, schema, services) lives as long as the worker:
    # out of the collector's sight, a full collection no longer walks it (a
    # ~100 ms pause every few thousand requests, docs/performance.md).
    gc.collect()
    gc.freeze()
    return app
