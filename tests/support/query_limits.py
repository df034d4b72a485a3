"""Refusals of documents over the query limits."""

from __future__ import annotations

from typing import Any


def reasons(body: dict[str, Any]) -> set[str]:
    return {error.get("extensions", {}).get("reason") for error in body.get("errors") or []}


def assert_refused_before_running(body: dict[str, Any], reason: str) -> None:
    assert body.get("data") is None, body
    assert reason in reasons(body), body
    assert {error["extensions"]["code"] for error in body["errors"]} == {
        "GRAPHQL_VALIDATION_FAILED"
    }
