"""What race tests share: calls that must never fail inside, outcomes in one word, no retries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.helpers import assert_no_leak, post_graphql

# What the request boundary logs before it runs an operation once more after a conflict.
CONFLICT_LOGGED = "deadlock or lock timeout"


async def call(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """One operation: never a 500 nor an internal error, nothing internal in the answer."""
    response = await post_graphql(client, query, variables, token=token)
    assert_no_leak(response)
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", body
    return body


def outcome(body: dict[str, Any]) -> str:
    """OK, or the error's code/reason/field in one word, e.g. BAD_USER_INPUT/LAST_OWNER."""
    errors = body.get("errors")
    if not errors:
        return "OK"
    (error,) = errors
    extensions = error["extensions"]
    return "/".join(
        str(part)
        for part in (extensions["code"], extensions.get("reason"), extensions.get("field"))
        if part is not None
    )


def assert_no_conflict_retried(caplog: pytest.LogCaptureFixture) -> None:
    """No operation met a deadlock or a lock timeout: the lock order held."""
    logged = [record.getMessage() for record in caplog.get_records("call")]
    conflicts = [message for message in logged if CONFLICT_LOGGED in message]
    assert not conflicts, conflicts
