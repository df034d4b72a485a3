"""create_app(settings): the one place that wires settings, services, schema and HTTP."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from gql_auth.graphql.schema import build_schema
from gql_auth.observability.logging_setup import configure_logging
from gql_auth.observability.metrics import Metrics
from gql_auth.services import Services, build_services
from gql_auth.sessions import sessions
from gql_auth.settings import Settings, get_settings
from gql_auth.web import graphiql, introspection, jwks
from gql_auth.web.edge import Edge
from gql_auth.web.http_guards import RequestGuard
from gql_auth.web.operation_endpoint import OperationEndpoint
from gql_auth.web.view import GraphQLView
from gql_auth.webhooks import queue

logger = logging.getLogger("gql_auth")


class GqlAuthApp(FastAPI):
    """FastAPI behind the edge: the edge sees every request first, and /graphql skips the rest."""

    edge: Edge  # create_app sets it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.edge(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.webhooks.start()
        yield
        await services.aclose()

    app = GqlAuthApp(
        title="gql-auth",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services

    schema = build_schema(settings)
    view = GraphQLView(
        services,
        schema=schema,
        graphql_ide=None if settings.is_production else "graphiql",
        # GET never runs operations: it would make them cross-site requestable.
        allow_queries_via_get=False,
    )
    graphql: ASGIApp = RequestGuard(
        OperationEndpoint(view, services=services, schema=schema),
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
    # Outermost, so even a 413 or a failure of FastAPI's own carries the request id.
    app.edge = Edge(partial(FastAPI.__call__, app), graphql=graphql)
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
                waiting = await queue.backlog(db)
            metrics.webhook_queue_depth.set(waiting.due)
            metrics.webhook_oldest_due_seconds.set(waiting.oldest_due_seconds)
        except Exception:  # the other figures are still worth scraping
            logger.exception("metrics: could not count live sessions or due webhooks")
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
