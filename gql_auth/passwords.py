"""argon2id hashing on a bounded thread pool, rehash checks and a dummy hash for timing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

T = TypeVar("T")


class PasswordHasher:
    """Hashes off the event loop, never more at once than `workers` threads.

    Inline argon2 stalls every other request for its whole duration; an
    unbounded pool lets a sign-in storm starve the CPU. A fixed limiter keeps
    both in check.
    """

    def __init__(self, *, time_cost: int, memory_cost: int, parallelism: int, workers: int) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._limiter = anyio.CapacityLimiter(workers)
        self._dummy_hash = self._argon2.hash(secrets.token_urlsafe(16))

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Runs CPU-heavy password work (hashing, strength checks) in the pool."""
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)

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
