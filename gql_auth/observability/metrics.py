"""Prometheus metrics (METRICS_ENABLED): requests, latency, sign-in failures, refusals,
sessions, webhook deliveries.

With several workers set PROMETHEUS_MULTIPROC_DIR (`gql-auth serve` does it
for you): each process writes its samples there and /metrics adds them up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """Owns its registry, so several app instances (tests) never collide."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gql_auth_requests",
            "GraphQL operations by root field and outcome code.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gql_auth_request_duration_seconds",
            "Time to answer a GraphQL operation.",
            ["operation"],
            registry=self.registry,
        )
        self.sign_in_failures = Counter(
            "gql_auth_sign_in_failures",
            "Refused sign-ins (wrong credentials).",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "gql_auth_rate_limited",
            "Operations refused by a rate limit.",
            ["operation"],
            registry=self.registry,
        )
        self.active_sessions = Gauge(
            "gql_auth_active_sessions",
            "Live (unrevoked, unexpired) sessions, counted at scrape time.",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.webhook_deliveries = Counter(
            "gql_auth_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retrying, failed (no retry left).",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_queue_depth = Gauge(
            "gql_auth_webhook_queue_depth",
            "Webhook attempts due now and not yet sent, counted at scrape time.",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.webhook_oldest_due_seconds = Gauge(
            "gql_auth_webhook_oldest_due_seconds",
            "How long the oldest due webhook attempt has waited, at scrape time.",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

    def observe(
        self, *, operation: str, outcome: str, seconds: float, failed_sign_in: bool
    ) -> None:
        """One operation's outcome; the caller knows which fields check a password."""
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation).observe(seconds)
        if outcome == "RATE_LIMITED":
            self.rate_limited.labels(operation).inc()
        elif failed_sign_in:
            self.sign_in_failures.inc()

    def exposition(self) -> bytes:
        if os.environ.get(MULTIPROCESS_ENV):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)
