"""POST /oauth/introspect under parallel callers, on every backend: the rate limit holds."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.support.helpers import (
    SqlDatabase,
    one_app_with_peers,
    register,
    running_app,
)
from tests.support.introspection import introspect, with_introspection


class TestRateLimit:
    async def test_parallel_calls_from_one_caller_get_exactly_the_limit(
        self, database: SqlDatabase
    ) -> None:
        settings = with_introspection(database, rate_limit_introspect_client="5/minute")
        async with one_app_with_peers(settings, "10.0.0.1", "10.0.0.2") as (caller, other):
            token = (await register(caller))["accessToken"]
            burst = await asyncio.gather(*(introspect(caller, token) for _ in range(12)))
            elsewhere = await introspect(other, token)

        assert Counter(response.status_code for response in burst) == {200: 5, 429: 7}
        for response in burst:
            if response.status_code == 429:
                assert response.json() == {"error": "rate_limited"}
                assert int(response.headers["retry-after"]) > 0
        assert elsewhere.json()["active"] is True  # per caller: another one is not refused

    async def test_guesses_at_the_secret_are_counted_too(self, database: SqlDatabase) -> None:
        settings = with_introspection(database, rate_limit_introspect_client="3/minute")
        wrong = {"Authorization": "Bearer guess"}
        async with running_app(settings) as client:
            token = (await register(client))["accessToken"]
            guesses = await asyncio.gather(*(introspect(client, token, wrong) for _ in range(5)))
            right = await introspect(client, token)

        assert Counter(response.status_code for response in guesses) == {401: 3, 429: 2}
        assert right.status_code == 429
