"""The spec every reservation window store meets: all or nothing, atomic under parallel
callers, exact refunds. Each test module that imports the classes collects them and serves
its own `store` fixture."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from gql_auth.limits.reservations import Window, WindowStore


def token() -> str:
    return uuid4().hex


class TestReserve:
    async def test_entries_are_taken_up_to_the_limit_then_refused_with_the_wait(
        self, store: WindowStore
    ) -> None:
        window = Window("k", limit=2, seconds=60)

        assert await store.reserve([window], token()) is None
        assert await store.reserve([window], token()) is None
        wait = await store.reserve([window], token())

        assert wait is not None
        assert 59 < wait <= 60

    async def test_a_refusal_by_one_window_takes_nothing_from_the_others(
        self, store: WindowStore
    ) -> None:
        full = Window("full", limit=1, seconds=60)
        roomy = Window("roomy", limit=2, seconds=60)
        assert await store.reserve([full], token()) is None

        for _ in range(5):
            assert await store.reserve([roomy, full], token()) is not None

        assert await store.reserve([roomy], token()) is None
        assert await store.reserve([roomy], token()) is None
        assert await store.reserve([roomy], token()) is not None

    async def test_the_wait_is_the_longest_of_the_full_windows(self, store: WindowStore) -> None:
        short = Window("short", limit=1, seconds=10)
        long = Window("long", limit=1, seconds=3600)
        await store.reserve([short], token())
        await store.reserve([long], token())

        wait = await store.reserve([short, long], token())

        assert wait is not None
        assert wait > 3500

    async def test_a_zero_limit_refuses_everything(self, store: WindowStore) -> None:
        assert await store.reserve([Window("none", limit=0, seconds=60)], token()) == 60

    async def test_entries_leave_the_window_when_it_has_moved_on(self, store: WindowStore) -> None:
        window = Window("brief", limit=1, seconds=0.3)
        await store.reserve([window], token())
        assert await store.reserve([window], token()) is not None

        await asyncio.sleep(0.4)

        assert await store.reserve([window], token()) is None

    async def test_parallel_callers_never_take_more_than_the_limit(
        self, store: WindowStore
    ) -> None:
        windows = [Window("a", limit=7, seconds=60), Window("b", limit=100, seconds=60)]

        results = await asyncio.gather(*(store.reserve(windows, token()) for _ in range(50)))

        assert sum(result is None for result in results) == 7
        # "b" holds exactly what was taken: 93 more fit, the 94th does not.
        taken = [await store.reserve([windows[1]], token()) for _ in range(94)]
        assert taken.count(None) == 93


class TestRelease:
    async def test_a_refund_frees_the_entry_for_the_next_attempt(self, store: WindowStore) -> None:
        window = Window("r", limit=1, seconds=60)
        mine = token()
        await store.reserve([window], mine)

        await store.release(["r"], mine)

        assert await store.reserve([window], token()) is None

    async def test_a_refund_removes_only_its_own_entry_and_only_in_the_named_windows(
        self, store: WindowStore
    ) -> None:
        first = Window("first", limit=2, seconds=60)
        second = Window("second", limit=1, seconds=60)
        other, mine = token(), token()
        await store.reserve([first], other)
        await store.reserve([first, second], mine)

        await store.release(["first"], mine)
        await store.release(["first"], mine)  # twice: still only the one entry

        assert await store.reserve([first], token()) is None
        assert await store.reserve([first], token()) is not None
        assert await store.reserve([second], token()) is not None

    async def test_refunding_an_unknown_token_or_window_changes_nothing(
        self, store: WindowStore
    ) -> None:
        window = Window("u", limit=1, seconds=60)
        await store.reserve([window], token())

        await store.release(["u", "never-used"], token())

        assert await store.reserve([window], token()) is not None
