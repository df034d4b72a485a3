"""Log lines a client cannot forge: a request path with %0A, %0D, U+2028 or an ANSI escape
stays on its one line, in the readable development log and in production's JSON lines."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from urllib.parse import unquote

import pytest

from gql_auth.observability.logging_setup import configure_logging
from gql_auth.settings import Settings
from tests.support.helpers import SqlDatabase, make_settings, running_app
from tests.support.production import production_settings

FORGED = "2026-01-01 INFO forged"
# (what the client puts in the path, how the development log must show it)
PATHS = [
    ("/graphql%0A" + FORGED, "/graphql\\n" + FORGED),
    ("/graphql%0D" + FORGED, "/graphql\\r" + FORGED),
    ("/graphql%0D%0A" + FORGED, "/graphql\\r\\n" + FORGED),
    ("/graphql%E2%80%A8" + FORGED, "/graphql\\u2028" + FORGED),
    ("/graphql%C2%85" + FORGED, "/graphql\\x85" + FORGED),
    ("/graphql%1B[31m" + FORGED, "/graphql\\x1b[31m" + FORGED),
]
RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ +[\w.]+: ")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def logged_while_requesting(
    settings: Settings, capsys: pytest.CaptureFixture[str], path: str
) -> str:
    """What the server's log handler wrote (to stderr, as configure_logging sets it up)."""
    capsys.readouterr()
    configure_logging(settings)
    async with running_app(settings) as client:
        response = await client.get(path)
    assert response.status_code == 404
    return capsys.readouterr().err


@pytest.mark.usefixtures("restored_logging")
class TestDevelopmentLog:
    @pytest.mark.parametrize(("path", "shown"), PATHS)
    async def test_a_forged_line_in_the_path_is_escaped_on_the_requests_one_line(
        self, database: SqlDatabase, capsys: pytest.CaptureFixture[str], path: str, shown: str
    ) -> None:
        logged = await logged_while_requesting(make_settings(database.url), capsys, path)

        lines = logged.splitlines()  # splits at \r, \x85, U+2028 too, as log viewers may
        request_lines = [line for line in lines if "gql_auth.requests" in line]
        assert len(request_lines) == 1
        assert f"GET {shown} 404" in request_lines[0]
        assert all(RECORD_START.match(line) for line in lines), lines
        assert "\x1b" not in logged

    async def test_a_traceback_still_spans_its_lines(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging(make_settings("sqlite://"))
        try:
            raise ValueError("bad\nvalue")  # noqa: TRY301 - a real traceback to format
        except ValueError:
            logging.getLogger("gql_auth").exception("failed for %s", "a\nb")

        first, *rest = capsys.readouterr().err.splitlines()
        assert first.endswith("failed for a\\nb")
        assert rest[0] == "Traceback (most recent call last):"


@pytest.mark.usefixtures("restored_logging")
class TestProductionLog:
    @pytest.mark.parametrize(("path", "shown"), PATHS)
    async def test_a_path_with_line_breaks_is_one_json_line(
        self, database: SqlDatabase, capsys: pytest.CaptureFixture[str], path: str, shown: str
    ) -> None:
        settings = production_settings(database.url)

        logged = await logged_while_requesting(settings, capsys, path)

        records = [json.loads(line) for line in logged.splitlines()]
        (request,) = [record for record in records if record["name"] == "gql_auth.requests"]
        assert request["path"] == unquote(path)  # the client's characters, kept as data
