"""The delivery worker: runs in every server process, sends due attempts, records how they went.

Nothing to start besides the server. It wakes when this process commits an
event and polls every WEBHOOK_POLL_SECONDS for the rest (retries, and events
other processes committed). At most WEBHOOK_CONCURRENCY attempts are in
flight per process, each bounded by WEBHOOK_TIMEOUT_SECONDS, all on the event
loop but never on its time: a slow receiver only holds a connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gql_auth.core.database import create_session_factory, is_transient_conflict
from gql_auth.observability.metrics import Metrics
from gql_auth.security.secret_box import SecretBox, SecretUnreadable
from gql_auth.webhooks import queue, sender
from gql_auth.webhooks.queue import Claimed
from gql_auth.webhooks.sender import Outcome
from gql_auth.webhooks.settings import WebhookSettings
from gql_auth.webhooks.signing import sealing_context

logger = logging.getLogger("gql_auth.webhooks")

T = TypeVar("T")

_TRIES = 5  # a transaction that meets a deadlock or lock timeout is run again this often
_GRACE_SECONDS = 2.0  # how long shutting down waits for attempts in flight


class DeliveryWorker:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        settings: WebhookSettings,
        box: SecretBox,
        metrics: Metrics | None,
    ) -> None:
        # Its own pool: deliveries never hold a connection a request is waiting for.
        self._engine = engine
        self._sessions = create_session_factory(engine)
        self._box = box
        self._metrics = metrics
        self._slots = settings.webhook_concurrency
        self._timeout = settings.webhook_timeout_seconds
        self._poll = settings.webhook_poll_seconds
        self._allow_private = settings.webhook_private_urls_allowed
        self._retry_waits = settings.webhook_retry_waits()
        self._disable_after = timedelta(days=settings.webhook_disable_after_days)
        # Longer than any attempt (its timeout) and the recording after it.
        self._lease = timedelta(seconds=2 * self._timeout + 5)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._client = sender.new_client(concurrency=self._slots, timeout=self._timeout)

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="webhook-delivery-worker")

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def aclose(self) -> None:
        self._closing = True
        self._wake.set()
        if self._runner is not None:
            # The loop ends at its next turn, leaving no statement half-run; one stuck
            # (a database away) is cancelled. A driver may turn that cancellation into
            # its own error: the flag ends the loop then.
            _, running = await asyncio.wait([self._runner], timeout=_GRACE_SECONDS)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if self._in_flight:
            # Attempts cut short here run again when their lease ends: at least once.
            _, unfinished = await asyncio.wait(self._in_flight, timeout=_GRACE_SECONDS)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        await self._client.aclose()
        await self._engine.dispose()

    async def _run(self) -> None:
        failures = 0  # claims in a row that failed: the database may be away
        while not self._closing:
            self._wake.clear()
            free = self._slots - len(self._in_flight)
            try:
                claimed = await self._claim(free) if free > 0 else []
            except Exception:
                failures += 1
                if failures == 1 or failures % 60 == 0:  # not a traceback every poll
                    logger.exception("webhooks: could not claim due deliveries")
                await asyncio.sleep(self._poll * min(2 ** min(failures, 5), 30))
                continue
            failures = 0
            for item in claimed:
                task = asyncio.create_task(self._deliver(item))
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            if claimed and len(claimed) == free:
                continue  # the queue may hold more; slots free up as attempts finish
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a slot is free, and a retry due at once may have been queued

    async def _claim(self, limit: int) -> list[Claimed]:
        async with self._sessions() as db:
            if not await queue.any_due(db):
                return []
        return await self._transaction(
            lambda db: queue.claim_due(db, limit=limit, lease=self._lease)
        )

    async def _deliver(self, claimed: Claimed) -> None:
        started = time.monotonic()
        secrets = await self._secrets(claimed)
        if secrets is None:
            outcome = Outcome(False, None, "signing secret unreadable (SECRET_KEY changed?)")
        else:
            outcome = await sender.attempt(
                self._client,
                url=claimed.url,
                secrets=secrets,
                message=claimed.message,
                allow_private=self._allow_private,
                timeout=self._timeout,
            )
        try:
            kept = await self._transaction(
                lambda db: queue.record(
                    db,
                    claimed,
                    outcome,
                    retry_waits=self._retry_waits,
                    disable_after=self._disable_after,
                )
            )
        except Exception:  # unrecorded: the attempt runs again when its lease ends
            logger.exception("webhooks: could not record delivery %s", claimed.delivery_id)
            return
        self._log(claimed, outcome, seconds=time.monotonic() - started, kept=kept)

    async def _secrets(self, claimed: Claimed) -> list[str] | None:
        """The secrets to sign with; None when the current one no longer opens.

        A secret sealed under SECRET_KEY_PREVIOUS is sealed again under the new key,
        so retiring the old key later loses nothing. A previous secret that no longer
        opens is left out: the current one still signs.
        """
        context = sealing_context(claimed.endpoint_id)
        try:
            current = self._box.open(claimed.sealed_secret, context=context)
        except SecretUnreadable:
            return None
        if current.stale:
            resealed = self._box.seal(current.plaintext, context=context)
            try:
                await self._transaction(
                    lambda db: queue.reseal(
                        db,
                        endpoint_id=claimed.endpoint_id,
                        sealed=claimed.sealed_secret,
                        resealed=resealed,
                    )
                )
            except Exception:  # tried again at the next delivery
                logger.exception("webhooks: could not reseal endpoint %s", claimed.endpoint_id)
        secrets = [current.plaintext]
        if claimed.sealed_previous_secret is not None:
            with contextlib.suppress(SecretUnreadable):
                secrets.append(
                    self._box.open(claimed.sealed_previous_secret, context=context).plaintext
                )
        return secrets

    def _log(self, claimed: Claimed, outcome: Outcome, *, seconds: float, kept: bool) -> None:
        last = claimed.attempt > len(self._retry_waits)
        result = "delivered" if outcome.delivered else ("failed" if last else "retrying")
        if self._metrics is not None:
            self._metrics.webhook_deliveries.labels(result).inc()
        logger.log(
            logging.INFO if outcome.delivered else logging.WARNING,
            "webhook %s %s to endpoint %s, attempt %d: %s",
            claimed.message.event_id,
            claimed.message.event_type,
            claimed.endpoint_id,
            claimed.attempt,
            result if outcome.error is None else f"{result} ({outcome.error})",
            extra={
                "webhook_event_id": claimed.message.event_id,
                "webhook_event_type": claimed.message.event_type,
                "webhook_endpoint_id": claimed.endpoint_id,
                "webhook_attempt": claimed.attempt,
                "webhook_outcome": result,
                "webhook_response_status": outcome.response_status,
                "duration_ms": round(seconds * 1000, 1),
                "recorded": kept,
            },
        )

    async def _transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        for attempt in range(_TRIES):
            try:
                async with self._sessions() as db, db.begin():
                    return await work(db)
            except Exception as error:
                if attempt + 1 == _TRIES or not is_transient_conflict(error):
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")
