"""Rate limits: moving windows in memory, or in Redis so every worker agrees.

The `limits` library reads the rules ("10/15minutes"); the counting is
reservations.py's, so every attempt, whether a check reserved it or a plain
hit counted it, can be given back: by the outcome that does not count it, or
by the request boundary when it rolls an attempt back and runs it again.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from limits import RateLimitItem, parse

from gql_auth.core.errors import RateLimited
from gql_auth.limits.reservations import MemoryWindows, RedisWindows, Window, WindowStore
from gql_auth.limits.rules import Rule as Rule  # re-exported: callers name rules with the limiter
from gql_auth.limits.settings import LimitSettings

logger = logging.getLogger("gql_auth.ratelimit")

# While the shared store is down, say so at most this often instead of on every request.
_OUTAGE_LOG_INTERVAL = 30.0
# What a refused client is told to wait when we cannot count at all.
_OUTAGE_RETRY_AFTER = 30


@dataclass(frozen=True, slots=True)
class Reservation:
    """Attempts taken before the work they limit; give back what the outcome does not count."""

    _limits: RateLimits
    _windows: WindowStore
    _keys: Mapping[Rule, str]
    _token: str

    async def refund(self, *rules: Rule) -> None:
        """Removes this attempt from these rules' windows (only this one, never others')."""
        keys = [self._keys[rule] for rule in rules if rule in self._keys]
        try:
            await self._windows.release(keys, self._token)
        except Exception:  # the attempt then stays counted: the strict side
            self._limits.log_outage("could not give back a reserved attempt")

    async def refund_all(self) -> None:
        await self.refund(*self._keys)


# The reservations of the operation now running, while someone records them.
_recording: ContextVar[list[Reservation] | None] = ContextVar("reservations", default=None)


@contextmanager
def recording_reservations() -> Iterator[list[Reservation]]:
    """Collects every attempt counted in this context (tasks it starts included).

    The request boundary gives them back when it rolls an attempt back and
    runs it again, so a retried operation counts once under every rule.
    """
    taken: list[Reservation] = []
    token = _recording.set(taken)
    try:
        yield taken
    finally:
        _recording.reset(token)


class RateLimits:
    """Checks and counts attempts per rule and key (an account, an address, an IP).

    With REDIS_URL the counts live in Redis. If Redis stops answering, the
    limits that guard passwords fail closed in production (an attacker must
    not get unlimited guesses by knocking Redis over); everything else falls
    back to this process's memory, which still limits, just per worker.
    """

    def __init__(self, settings: LimitSettings) -> None:
        self._items: dict[Rule, RateLimitItem] = {
            rule: parse(getattr(settings, rule.setting)) for rule in Rule
        }
        self._fail_closed = settings.is_production
        self._local = MemoryWindows()
        self._shared: RedisWindows | None = None
        if settings.redis_url:
            self._shared = RedisWindows(
                settings.redis_url, key_prefix=settings.rate_limit_key_prefix
            )
        self._last_outage_log = 0.0

    async def hit(self, rule: Rule, key: str) -> bool:
        """Counts one attempt; False, and nothing counted, when the rule is used up."""
        return isinstance(await self._count({rule: key}), Reservation)

    async def consume(self, rule: Rule, key: str) -> None:
        """Counts one attempt, or refuses it (counting nothing) when the rule is used up."""
        await self.reserve({rule: key})

    async def reserve(self, attempt: Mapping[Rule, str]) -> Reservation:
        """Takes one attempt under every rule (rule -> key) at once, before the work they limit.

        All or nothing, atomically (one Lua script in Redis): parallel requests
        cannot all pass a test and count later, and a refusal takes nothing,
        so a refused attempt costs no rule's budget.
        """
        counted = await self._count(attempt)
        if not isinstance(counted, Reservation):
            raise RateLimited(retry_after=max(1, math.ceil(counted)))
        return counted

    async def _count(self, attempt: Mapping[Rule, str]) -> Reservation | float:
        """The attempt taken (and recorded, see recording_reservations), or the seconds to wait."""
        token = uuid.uuid4().hex
        windows = [self._window(rule, key) for rule, key in attempt.items()]
        store, wait = await self._take(
            windows, token, guards_passwords=any(rule.guards_passwords for rule in attempt)
        )
        if wait is not None:
            return wait
        keys = {rule: window.key for rule, window in zip(attempt, windows, strict=True)}
        reservation = Reservation(self, store, keys, token)
        recording = _recording.get()
        if recording is not None:
            recording.append(reservation)
        return reservation

    async def _take(
        self, windows: list[Window], token: str, *, guards_passwords: bool
    ) -> tuple[WindowStore, float | None]:
        if self._shared is not None:
            try:
                return self._shared, await self._shared.reserve(windows, token)
            except Exception:  # any storage failure means "cannot count"
                self._outage(guards_passwords)
        return self._local, await self._local.reserve(windows, token)

    def _window(self, rule: Rule, key: str) -> Window:
        item = self._items[rule]
        return Window(f"{rule.name}:{key}", item.amount, item.get_expiry())

    async def aclose(self) -> None:
        """Closes the Redis connections (the app's shutdown)."""
        if self._shared is not None:
            await self._shared.aclose()

    def _outage(self, guards_passwords: bool) -> None:
        fails_closed = guards_passwords and self._fail_closed
        self.log_outage(
            "refusing sign-ins until it is back (production fails closed)"
            if fails_closed
            else "counting in this process's memory meanwhile"
        )
        if fails_closed:
            raise RateLimited(retry_after=_OUTAGE_RETRY_AFTER)

    def log_outage(self, consequence: str) -> None:
        """Says that Redis is unreachable, at most every _OUTAGE_LOG_INTERVAL seconds."""
        now = time.monotonic()
        if now - self._last_outage_log >= _OUTAGE_LOG_INTERVAL:
            self._last_outage_log = now
            logger.error("rate-limit store (Redis) is unreachable; %s", consequence)
