"""The shared Redis of the rate-limit and reservation tests: each test keeps to a key prefix
of its own (never FLUSHALL), so parallel workers and other runs never see each other's keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"


@contextmanager
def redis_key_prefix(name: str, why: str) -> Iterator[str]:
    """A fresh key prefix on the shared Redis; only its keys are deleted after.

    Skips when Redis does not answer, and fails instead under CI=true (`why` says what CI
    must run).
    """
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        message = f"Redis at {REDIS_URL} is unreachable: {error}"
        connection.close()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run {why}", pytrace=False)
        pytest.skip(message)
    prefix = f"{name}-{uuid4().hex}"
    try:
        yield prefix
    finally:
        keys = list(connection.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            connection.delete(*keys)
        connection.close()


def redis_keys(prefix: str) -> list[bytes]:
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return list(connection.scan_iter(match=f"{prefix}*"))
    finally:
        connection.close()
