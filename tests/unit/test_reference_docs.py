"""The site's reference pages are what scripts/reference_docs.py makes of the code now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "reference_docs.py"


@pytest.fixture(scope="module")
def reference_docs() -> ModuleType:
    # scripts/ is not a package: load the generator from its file.
    spec = importlib.util.spec_from_file_location("reference_docs", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_page_is_committed_as_the_code_makes_it(
    reference_docs: ModuleType,
) -> None:
    stale = [str(path.relative_to(ROOT)) for path in reference_docs.stale_pages()]
    assert stale == [], f"stale reference pages {stale}: run make docs-reference and commit them"


def test_the_settings_page_shows_defaults_as_an_operator_types_them(
    reference_docs: ModuleType,
) -> None:
    page = reference_docs.settings_page()
    assert "| `DATABASE_URL` | `sqlite:///./gql_auth.db` |" in page
    assert "| `SECRET_KEY` | *unset* |" in page
    assert "| `CORS_ORIGINS` | *empty* |" in page


def test_the_errors_page_lists_every_reason_and_input_field(reference_docs: ModuleType) -> None:
    # The generator's own imports of the error table: the one place this test reads it from.
    page = reference_docs.errors_page()
    for reason in reference_docs.Reason:
        assert f"| `{reason}` |" in page, reason
    for field in reference_docs.FIELDS.values():
        assert f"| `{field}` |" in page, field


def test_the_cli_page_has_a_section_per_command(reference_docs: ModuleType) -> None:
    page = reference_docs.cli_page()
    for command in ("serve", "migrate", "prune", "gen-secret", "gen-key", "reset-mfa"):
        assert f"## `gql-auth {command}` {{#{command}}}" in page, command


def test_the_graphql_page_shows_who_may_call_each_root_field(reference_docs: ModuleType) -> None:
    page = reference_docs.graphql_page(reference_docs.SCHEMA_FILE.read_text())
    assert "### `me` {#query-me}\n\nThe signed-in user." in page
    assert "- **Who:** `@isAuthenticated` `@hasRole(role: ADMIN)`" in page
    assert "### `register` {#mutation-register}" in page


def test_the_webhook_events_page_has_a_section_and_an_example_per_event_type(
    reference_docs: ModuleType,
) -> None:
    page = reference_docs.webhook_events_page()
    for event_type in reference_docs.EventType:
        anchor = event_type.value.replace(".", "-")
        assert f"### `{event_type.value}` {{#{anchor}}}" in page, event_type
        assert f"| [`{event_type.value}`](#{anchor}) |" in page, event_type
    assert '{"type":"user.created","timestamp":"2026-12-07T09:30:00.123Z","data":{' in page
