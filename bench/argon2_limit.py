"""The machine's argon2 limit: password verifies per second on N threads, nothing else running.

Uses gql-auth's own Settings (production defaults unless ARGON2_* say otherwise),
so the parameters are exactly those of the service. argon2-cffi runs each hash's
`parallelism` lanes on threads of its own, so N pool threads can keep more than
N cores busy: `--threads 1 2 3 4` measures the curve the pool size is chosen from.
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time

from argon2 import PasswordHasher, Type

from gql_auth.settings import Settings


def verifies_per_second(threads: int, seconds: float, settings: Settings) -> dict[str, float]:
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )
    password = secrets.token_urlsafe(16)
    encoded = hasher.hash(password)
    hasher.verify(encoded, password)  # warm: first use maps the memory
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            hasher.verify(encoded, password)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "threads": threads,
        "verifies_per_s": len(ordered) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    settings = Settings(_env_file=None, secret_key="x" * 32)
    print(
        f"argon2id t={settings.argon2_time_cost} m={settings.argon2_memory_cost} KiB "
        f"p={settings.argon2_parallelism}",
        flush=True,
    )
    for threads in args.threads:
        result = verifies_per_second(threads, args.seconds, settings)
        print("BENCH " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
