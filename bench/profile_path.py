"""Profile a gql-auth request path with py-spy: `python bench/profile_path.py me|login`.

Starts `gql-auth serve` (1 worker, production settings, a fresh SQLite file)
under `py-spy record`, loads it with the benchmark's generator, then prints
where the samples landed: the hottest functions by own time and by inclusive
time, and writes the collapsed stacks (flamegraph.pl / speedscope input).
"""

from __future__ import annotations

import argparse
import collections
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from run import (
    BENCH,
    BIN,
    LOGIN_QUERY,
    ME_QUERY,
    Bench,
    Options,
    Processes,
    free_port,
    register,
    server_env,
    summarize,
    wait_until_up,
)

# Idle worker threads blocked on their queues: py-spy cannot tell them from busy ones.
_WAITING = ("_connection_worker_thread ", "_worker (futures/thread.py)", "Condition.wait ")


def frame_name(frame: str) -> str:
    """`Session.execute (sqlalchemy/orm/session.py:2373)` -> `Session.execute (orm/session.py)`."""
    function, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{function} ({'/'.join(path.split('/')[-2:])})"


def report(collapsed: Path, top: int) -> None:
    """Own and inclusive time on the event loop (MainThread), and what other threads ran."""
    own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    inclusive: collections.Counter[str] = collections.Counter()
    totals: collections.Counter[str] = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        thread, *frames = stack.split(";")
        if not frames:
            continue
        count = int(count_text)
        group = "event loop" if thread.endswith("MainThread") else "other threads"
        names = [frame_name(frame) for frame in frames]
        if group == "other threads" and names[-1].startswith(_WAITING):
            names[-1] = "(waiting for work) " + names[-1]
        totals[group] += count
        own[group][names[-1]] += count
        if group == "event loop":
            for name in set(names):
                inclusive[name] += count
    for group in ("event loop", "other threads"):
        print(f"\n-- {group}: {totals[group]} samples; top {top} by own time --")
        for name, count in own[group].most_common(top):
            print(f"{100 * count / totals[group]:6.1f}%  {name}")
    print(f"\n-- event loop: top {top} by inclusive time --")
    for name, count in inclusive.most_common(top):
        print(f"{100 * count / max(1, totals['event loop']):6.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", choices=["me", "login"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--database-url", help="an empty database to profile on (default: a fresh SQLite file)"
    )
    parser.add_argument("--out", type=Path, default=BENCH / ".profiles")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    collapsed = args.out / f"{args.target}.txt"
    logs = Path(tempfile.mkdtemp(prefix="gql-auth-profile-"))
    env = server_env({"DATABASE_URL": args.database_url or f"sqlite:///{logs}/gqlauth.db"})
    subprocess.run([str(BIN / "gql-auth"), "migrate"], env=env, cwd=logs, check=True)  # noqa: S603
    processes = Processes(logs)
    options = Options(args.seconds, 1, args.connections, args.connections, 4, "wrk")
    if not shutil.which("wrk"):
        options = Options(args.seconds, 1, args.connections, args.connections, 4, "python")
    bench = Bench(options, processes, logs)
    port = free_port()
    server = processes.start("server", [str(BIN / "gql-auth"), "serve", "--port", str(port)], env)
    try:
        wait_until_up(server, port, "server", logs)
        url = f"http://127.0.0.1:{port}/graphql"
        username, password = f"prof{secrets.token_hex(3)}", secrets.token_urlsafe(18)
        token = register(url, username, password)
        if args.target == "me":
            body = ME_QUERY
        else:
            body = json.dumps({"query": LOGIN_QUERY, "variables": {"u": username, "p": password}})
            token = ""
        bench.finish_load(  # warm-up: caches, pool, first-use imports
            bench.start_load(url, connections=args.connections, seconds=2, body=body, token=token)
        )
        load = bench.start_load(
            url, connections=args.connections, seconds=args.seconds + 2, body=body, token=token
        )
        # Attached to the running server, so start-up never shows; --threads keeps
        # the event loop apart from the database and hashing threads.
        spy = [
            str(BIN / "py-spy"),
            "record",
            "-r",
            "200",
            "-f",
            "raw",
            "--threads",
            "--nonblocking",
        ]
        spy += ["-d", str(args.seconds), "-p", str(server.pid), "-o", str(collapsed)]
        subprocess.run(spy, check=True, capture_output=True)  # noqa: S603
        rps, p50, p99, errors = summarize(bench.finish_load(load))
        print(
            f"{args.target}: {rps:.1f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, {errors} errors"
        )
    finally:
        processes.stop_all()
        shutil.rmtree(logs, ignore_errors=True)
    report(collapsed, args.top)
    print(f"\ncollapsed stacks: {collapsed}")


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    main()
