"""Reservation windows in a real Redis: the spec of tests/unit/test_reservations.py
(all or nothing, atomic under parallel callers, exact refunds), run against RedisWindows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gql_auth.limits.reservations import RedisWindows, WindowStore

# redis_prefix: a key prefix of the test's own on the shared Redis, deleted after it.
from tests.test_rate_limits import REDIS_URL, redis_prefix  # noqa: F401

# The same spec classes, collected here again: this module's `store` fixture serves them.
from tests.unit.test_reservations import TestRelease, TestReserve

__all__ = ["TestRelease", "TestReserve"]


@pytest.fixture
async def store(redis_prefix: str) -> AsyncIterator[WindowStore]:  # noqa: F811
    windows = RedisWindows(REDIS_URL, key_prefix=redis_prefix)
    try:
        yield windows
    finally:
        await windows.aclose()
