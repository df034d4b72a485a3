"""argon2id hashing on a bounded thread pool, rehash checks and a dummy hash for timing."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

T = TypeVar("T")


# Hashing threads run this much nicer than the event loop, so a sign-in storm
# slows sign-ins rather than every other request (docs/performance.md).
HASHING_NICENESS = 19


def _lower_priority() -> None:
    """Linux niceness is per thread, and argon2's lane threads inherit it."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        niceness = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness + HASHING_NICENESS))
    except OSError:  # e.g. a sandbox without setpriority: hash at normal priority
        pass


@functools.cache
def _hashing_pool(workers: int) -> ThreadPoolExecutor:
    # Shared by every hasher of this size: apps built in tests reuse its threads.
    return ThreadPoolExecutor(workers, thread_name_prefix="argon2", initializer=_lower_priority)


class PasswordHasher:
    """Hashes off the event loop, never more at once than `workers` threads.

    Inline argon2 stalls every other request for its whole duration; an
    unbounded pool lets a sign-in storm starve the CPU. A fixed pool of
    low-priority threads keeps both in check.
    """

    def __init__(self, *, time_cost: int, memory_cost: int, parallelism: int, workers: int) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._pool = _hashing_pool(workers)
        self._dummy_hash = self._argon2.hash(secrets.token_urlsafe(16))

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Runs CPU-heavy password work (hashing, strength checks) in the pool."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def hash(self, password: str) -> str:
        return await self.run(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when the password matches; an unknown user still pays one verify."""
        # same cost for unknown users: no enumeration by timing
        return await self.run(self._verify_sync, password_hash or self._dummy_hash, password)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._argon2.check_needs_rehash(password_hash)
