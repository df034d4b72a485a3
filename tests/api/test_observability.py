"""One log line per request and Prometheus metrics, without secrets in either."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    gql,
    login,
    make_settings,
    register,
    running_app,
)
from tests.support.metrics import sample

ME = "query { me { username } }"
WRONG_LOGIN = (
    'mutation { login(input: {username: "ghost", password: "not-it-at-all"}) { accessToken } }'
)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "gql_auth.requests"]


class TestRequestLog:
    async def test_each_request_logs_one_line_with_id_operation_user_and_outcome(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        payload = await register(client, "logged")
        caplog.clear()
        caplog.set_level(logging.INFO, logger="gql_auth.requests")

        response = await client.post(
            "/graphql",
            json={"query": ME},
            headers={"Authorization": f"Bearer {payload['accessToken']}"},
        )

        [line] = request_lines(caplog)
        assert line.request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]
        assert line.operation == "me"  # type: ignore[attr-defined]
        assert line.outcome == "OK"  # type: ignore[attr-defined]
        assert str(line.user_id) == payload["user"]["id"]  # type: ignore[attr-defined]
        assert line.status == 200  # type: ignore[attr-defined]

    async def test_the_log_never_holds_tokens_passwords_or_query_text(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        payload = await register(client, "secretive")
        await login(client, "secretive")
        await gql(client, ME, token=payload["accessToken"])

        logged = "\n".join(
            f"{record.getMessage()} {record.__dict__}" for record in request_lines(caplog)
        )
        assert logged
        for secret in (STRONG_PASSWORD, payload["accessToken"], payload["refreshToken"]):
            assert secret not in logged
        assert "mutation" not in logged

    async def test_a_refusal_logs_its_code(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="gql_auth.requests")

        await gql(client, WRONG_LOGIN)

        [line] = request_lines(caplog)
        assert (line.operation, line.outcome) == ("login", "UNAUTHENTICATED")  # type: ignore[attr-defined]


class TestMetrics:
    async def test_metrics_are_off_by_default(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/metrics")).status_code == 404

    async def test_requests_failures_and_live_sessions_are_counted(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(make_settings(database.url, metrics_enabled=True)) as client:
            payload = await register(client, "measured")
            await gql(client, ME, token=payload["accessToken"])
            await gql(client, ME, token=payload["accessToken"])
            await gql(client, WRONG_LOGIN)

            metrics = (await client.get("/metrics")).text

        assert sample(metrics, "gql_auth_requests_total", operation="me", outcome="OK") == 2
        assert (
            sample(metrics, "gql_auth_requests_total", operation="login", outcome="UNAUTHENTICATED")
            == 1
        )
        assert sample(metrics, "gql_auth_sign_in_failures_total") == 1
        assert sample(metrics, "gql_auth_active_sessions") == 1
        assert sample(metrics, "gql_auth_request_duration_seconds_count", operation="me") == 2
        assert payload["accessToken"] not in metrics

    async def test_every_declared_password_check_counts_a_wrong_password_as_a_failed_sign_in(
        self, database: SqlDatabase
    ) -> None:
        """Derived from the CredentialCheck declarations: updateProfile's currentPassword too."""
        async with running_app(make_settings(database.url, metrics_enabled=True)) as client:
            token = (await register(client, "counted"))["accessToken"]
            await gql(client, WRONG_LOGIN)
            await gql(
                client,
                'mutation { changePassword(input: {currentPassword: "wrong-guess", '
                'newPassword: "another-long-one"}) { accessToken } }',
                token=token,
            )
            await gql(
                client,
                'mutation { updateProfile(input: {username: "renamed", '
                'currentPassword: "wrong-guess"}) { id } }',
                token=token,
            )
            # A mailed token is no password: a wrong one is BAD_USER_INPUT, no failed sign-in.
            await gql(
                client,
                'mutation { resetPassword(input: {token: "not-a-token", '
                'newPassword: "another-long-one"}) }',
            )

            metrics = (await client.get("/metrics")).text

        for operation in ("login", "changePassword", "updateProfile"):
            assert (
                sample(
                    metrics,
                    "gql_auth_requests_total",
                    operation=operation,
                    outcome="UNAUTHENTICATED",
                )
                == 1
            ), operation
        assert sample(metrics, "gql_auth_sign_in_failures_total") == 3
