"""Reservation windows in a real Redis: the spec of tests/support/window_store_spec.py
(all or nothing, atomic under parallel callers, exact refunds), run against RedisWindows;
tests/unit/test_reservations.py runs it against the in-memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gql_auth.limits.reservations import RedisWindows, WindowStore
from tests.support.redis import REDIS_URL

# The spec classes, collected here again: this module's `store` fixture serves them.
from tests.support.window_store_spec import TestRelease, TestReserve

__all__ = ["TestRelease", "TestReserve"]


@pytest.fixture
async def store(redis_prefix: str) -> AsyncIterator[WindowStore]:
    # Fifty connections open at once here: on a loaded CI machine one may take over a second.
    windows = RedisWindows(REDIS_URL, key_prefix=redis_prefix, timeout_seconds=10)
    try:
        yield windows
    finally:
        await windows.aclose()
