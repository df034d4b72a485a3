"""Reservation windows in memory: all or nothing, atomic under parallel callers, and a
refund gives back exactly the one entry it names. tests/db/test_reservations.py runs the
same spec (tests/support/window_store_spec.py) against a real Redis."""

from __future__ import annotations

import pytest

from gql_auth.limits.reservations import MemoryWindows, WindowStore

# The spec classes, collected here: this module's `store` fixture serves them.
from tests.support.window_store_spec import TestRelease, TestReserve

__all__ = ["TestRelease", "TestReserve"]


@pytest.fixture
def store() -> WindowStore:
    return MemoryWindows()
