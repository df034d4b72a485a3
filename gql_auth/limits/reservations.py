"""Moving windows that reserve an attempt under several limits at once and can give it back.

The `limits` library's moving window is atomic per limit (a Lua script in
Redis, a per-key lock in memory) but has neither of the two things a
credential check needs: taking an entry in several windows all or none, and
removing one entry again (`clear` empties the whole window). So every limit
counts in these windows instead: the checks that guard passwords, and the
plain counts too, which a retried operation must give back. Each entry
carries the reservation's random token, so a refund removes exactly that entry.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis


@dataclass(frozen=True, slots=True)
class Window:
    """One limit applied to one key: at most `limit` entries per `seconds`."""

    key: str
    limit: int
    seconds: float


class WindowStore(Protocol):
    async def reserve(self, windows: Sequence[Window], token: str) -> float | None:
        """Adds an entry under `token` to every window, or to none.

        Returns None when taken, else the seconds until every full window has room.
        """

    async def release(self, keys: Sequence[str], token: str) -> None:
        """Removes the entry `token` holds in each of these windows."""


# Idle windows in memory are dropped at most this often, so unused keys do not pile up.
_SWEEP_INTERVAL = 60.0


class MemoryWindows:
    """This process's windows. No await between test and add: atomic for the event loop."""

    def __init__(self) -> None:
        # Per key, (expires at, token) oldest first: one key is one limit, one window length.
        self._entries: dict[str, deque[tuple[float, str]]] = {}
        self._next_sweep = 0.0

    async def reserve(self, windows: Sequence[Window], token: str) -> float | None:
        now = time.monotonic()
        self._sweep(now)
        wait = max((self._wait(window, now) for window in windows), default=0.0)
        if wait > 0:
            return wait
        for window in windows:
            self._entries.setdefault(window.key, deque()).append((now + window.seconds, token))
        return None

    async def release(self, keys: Sequence[str], token: str) -> None:
        for key in keys:
            entries = self._entries.get(key)
            if entries is not None:
                self._entries[key] = deque(entry for entry in entries if entry[1] != token)

    def _wait(self, window: Window, now: float) -> float:
        entries = self._entries.get(window.key)
        if entries is None:
            return 0.0 if window.limit > 0 else window.seconds
        while entries and entries[0][0] <= now:
            entries.popleft()
        excess = len(entries) - window.limit
        if excess < 0:
            return 0.0
        # Room comes when the entry that keeps the window full expires.
        return entries[excess][0] - now if excess < len(entries) else window.seconds

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_INTERVAL
        for key in [key for key, entries in self._entries.items() if not _live(entries, now)]:
            del self._entries[key]


def _live(entries: deque[tuple[float, str]], now: float) -> bool:
    return bool(entries) and entries[-1][0] > now


# KEYS: the windows. ARGV: token, then limit and seconds for each window.
# Entries are a sorted set per window, scored by the time they were taken on
# Redis's own clock, so hosts whose clocks disagree still share one window.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local token = ARGV[1]
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local seconds = tonumber(ARGV[1 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - seconds)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local blocking = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local until_free = seconds
    if blocking[2] then until_free = tonumber(blocking[2]) + seconds - now end
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local seconds = tonumber(ARGV[1 + 2 * i])
  redis.call('ZADD', key, now, token)
  redis.call('PEXPIRE', key, math.ceil(seconds * 1000))
end
return false
"""


class RedisWindows:
    """Windows in Redis, shared by every process; one script tests and adds them all."""

    def __init__(self, url: str, *, key_prefix: str, timeout_seconds: float = 1.0) -> None:
        # Short: a Redis that does not answer must not hold requests up (the limits then
        # fall back, or fail closed); tests that open fifty connections at once on a busy
        # machine give it longer.
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self._reserve = self._redis.register_script(_RESERVE)
        self._prefix = f"{key_prefix}:attempts:"

    async def reserve(self, windows: Sequence[Window], token: str) -> float | None:
        limits = [value for window in windows for value in (window.limit, window.seconds)]
        wait = await self._reserve(
            keys=[self._prefix + window.key for window in windows],
            args=[token, *limits],
        )
        return None if wait is None else float(wait)

    async def release(self, keys: Sequence[str], token: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrem(self._prefix + key, token)
            await pipe.execute()

    async def aclose(self) -> None:
        await self._redis.aclose()
