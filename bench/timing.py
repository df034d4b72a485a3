"""Median CPU and wall time per call, over interleaved batches (the in-process benches)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Mapping

Target = Callable[[], Awaitable[object]]


async def medians_per_call(
    targets: Mapping[str, Target], batches: int, batch: int
) -> dict[str, tuple[float, float]]:
    """(CPU µs, wall µs) per call for each target: `process_time` counts every thread."""
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    wall: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(batches):
        for name, target in targets.items():
            started, started_wall = time.process_time(), time.perf_counter()
            for _ in range(batch):
                await target()
            cpu[name].append(1e6 * (time.process_time() - started) / batch)
            wall[name].append(1e6 * (time.perf_counter() - started_wall) / batch)
    return {name: (statistics.median(cpu[name]), statistics.median(wall[name])) for name in targets}
