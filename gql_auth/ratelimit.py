"""Rate limits with the `limits` library: in memory, or in Redis so every worker agrees."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from enum import Enum

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from gql_auth.config import Settings
from gql_auth.errors import RateLimited

logger = logging.getLogger("gql_auth.ratelimit")

# While the shared store is down, say so at most this often instead of on every request.
_OUTAGE_LOG_INTERVAL = 30.0
# What a refused client is told to wait when we cannot count at all.
_OUTAGE_RETRY_AFTER = 30


class Rule(Enum):
    """Each limit, the setting it comes from, and whether it fails closed."""

    LOGIN_ACCOUNT = ("rate_limit_login_account", True)
    LOGIN_IP = ("rate_limit_login_ip", True)
    REGISTER_IP = ("rate_limit_register_ip", False)
    RESET_EMAIL = ("rate_limit_reset_email", False)
    RESET_IP = ("rate_limit_reset_ip", False)

    def __init__(self, setting: str, guards_passwords: bool) -> None:
        self.setting = setting
        self.guards_passwords = guards_passwords


@dataclass(frozen=True, slots=True)
class _Counter:
    limiter: MovingWindowRateLimiter
    shared: bool


class RateLimits:
    """Checks and counts attempts per rule and key (an account, an address, an IP).

    With REDIS_URL the counts live in Redis. If Redis stops answering, the
    limits that guard passwords fail closed in production (an attacker must
    not get unlimited guesses by knocking Redis over); everything else falls
    back to this process's memory, which still limits, just per worker.
    """

    def __init__(self, settings: Settings) -> None:
        self._items: dict[Rule, RateLimitItem] = {
            rule: parse(getattr(settings, rule.setting)) for rule in Rule
        }
        self._fail_closed = settings.is_production
        self._local = _Counter(MovingWindowRateLimiter(MemoryStorage()), shared=False)
        self._shared: _Counter | None = None
        if settings.redis_url:
            storage: Storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=settings.rate_limit_key_prefix,
                wrap_exceptions=True,
                socket_timeout=1,
                socket_connect_timeout=1,
            )
            self._shared = _Counter(MovingWindowRateLimiter(storage), shared=True)
        self._last_outage_log = 0.0

    async def check(self, rule: Rule, key: str) -> None:
        """Raises RateLimited, with the seconds to wait, when the rule is used up."""
        item = self._items[rule]
        for counter in self._counters():
            try:
                if await counter.limiter.test(item, rule.name, key):
                    return
                stats = await counter.limiter.get_window_stats(item, rule.name, key)
            except Exception:  # noqa: BLE001 - any storage failure means "cannot count"
                self._outage(rule)
                continue
            raise RateLimited(retry_after=max(1, math.ceil(stats.reset_time - time.time())))

    async def hit(self, rule: Rule, key: str) -> bool:
        """Counts one attempt; False when it went over the limit."""
        item = self._items[rule]
        for counter in self._counters():
            try:
                return await counter.limiter.hit(item, rule.name, key)
            except Exception:  # noqa: BLE001 - any storage failure means "cannot count"
                self._outage(rule)
        return False

    async def consume(self, rule: Rule, key: str) -> None:
        """Counts one attempt and refuses it when that went over the limit."""
        if not await self.hit(rule, key):
            await self.check(rule, key)

    def _counters(self) -> list[_Counter]:
        return [self._shared, self._local] if self._shared else [self._local]

    def _outage(self, rule: Rule) -> None:
        now = time.monotonic()
        if now - self._last_outage_log >= _OUTAGE_LOG_INTERVAL:
            self._last_outage_log = now
            logger.error("rate-limit store (Redis) is unreachable; %s", self._fallback_text(rule))
        if rule.guards_passwords and self._fail_closed:
            raise RateLimited(retry_after=_OUTAGE_RETRY_AFTER)

    def _fallback_text(self, rule: Rule) -> str:
        if rule.guards_passwords and self._fail_closed:
            return "refusing sign-ins until it is back (production fails closed)"
        return "counting in this process's memory meanwhile"
