"""The edge: a failure nothing else answered is a 500 with the request id, logged, never shown.

Behind the edge, /graphql has no FastAPI error middleware of its own; every
other path keeps FastAPI's. Either way the client gets only the request id
and the log gets the traceback with it.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from gql_auth.settings import Settings
from gql_auth.web.edge import Edge
from tests.support.helpers import client_of, started_app

SECRET = "connection string with a password in it"  # what must never leak


async def failing_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError(SECRET)


def failure_logs(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if request_id in record.getMessage() and record.exc_info is not None
    ]


async def test_a_failure_on_the_graphql_path_is_a_500_in_the_error_shape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    edge = Edge(FastAPI(), graphql=failing_endpoint)
    transport = httpx.ASGITransport(app=edge)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/graphql", json={"query": "{ me { id } }"})

    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ]
    }
    assert SECRET not in response.text
    assert response.headers["cache-control"] == "no-store"
    (logged,) = failure_logs(caplog, request_id)
    assert logged.exc_info is not None and SECRET in str(logged.exc_info[1])


async def test_a_failure_behind_fastapi_is_logged_with_the_request_id(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with started_app(settings) as app:

        async def broken() -> None:
            raise RuntimeError(SECRET)

        app.add_api_route("/broken", broken, methods=["GET"])
        async with client_of(app) as client:
            response = await client.get("/broken")

    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    assert SECRET not in response.text
    assert len(failure_logs(caplog, request_id)) == 1
