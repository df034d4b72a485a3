"""`me` with and without webhook deliveries in flight, alternated on one server (issue 26).

`make bench`'s `me during deliveries` row is one measurement after `me`; on a
shared 2-core machine two rows minutes apart differ by more than what the
worker could cost. This alternates the two on one `gql-auth serve` (production
settings, as run.py starts it) and prints, for each measurement, req/s and the
server's CPU per request (utime + stime of the process, every thread, over the
measured seconds), then each pair's ratio. Deliveries are switched off and on
with updateWebhookEndpoint(enabled), over a backlog queued once; first it
prints what one attempt costs the server in CPU with no requests at all.

    bench/.venv/bin/python bench/deliveries_ab.py --backend mariadb --rounds 5
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from run import (
    ME_QUERY,
    RECEIVER_SECONDS,
    Bench,
    Options,
    Processes,
    SlowReceiver,
    graphql,
    mariadb_databases,
    register,
    server_env,
    summarize,
)

ENABLE_QUERY = (
    "mutation Enable($input: UpdateWebhookEndpointInput!) "
    "{ updateWebhookEndpoint(input: $input) { enabled } }"
)
BACKLOG = 600  # more than the rounds deliver: the queue never runs dry
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class Run:
    def __init__(self, bench: Bench, pid: int, url: str, receiver: SlowReceiver) -> None:
        self.bench = bench
        self.pid = pid
        self.url = url
        self.receiver = receiver

    def idle(self, what: str, seconds: float = 10) -> tuple[float, int]:
        """Server CPU seconds over `seconds` with no requests; attempts meanwhile."""
        started, cpu = time.monotonic(), cpu_seconds(self.pid)
        time.sleep(seconds)
        ended, used = time.monotonic(), cpu_seconds(self.pid) - cpu
        attempts, _ = self.receiver.during(started, ended)
        print(f"no requests, {what}: {used:.2f} s CPU in {seconds:g} s, {attempts} attempts")
        return used, attempts

    def me(self, token: str, seconds: int) -> tuple[float, float, int, float]:
        """req/s, server CPU µs per request, attempts reaching the receiver, open at once."""
        options = self.bench.options
        warmup = self.bench.start_load(
            self.url,
            connections=options.connections,
            seconds=options.warmup,
            body=ME_QUERY,
            token=token,
        )
        self.bench.finish_load(warmup)
        started, cpu = time.monotonic(), cpu_seconds(self.pid)
        load = self.bench.start_load(
            self.url, connections=options.connections, seconds=seconds, body=ME_QUERY, token=token
        )
        stats = self.bench.finish_load(load)
        ended, used = time.monotonic(), cpu_seconds(self.pid) - cpu
        attempts, open_ = self.receiver.during(started, ended)
        rps = summarize(stats)[0]
        return rps, used / stats["requests"] * 1e6, attempts, open_


def alternate(bench: Bench, processes: Processes, database_url: str, rounds: int) -> None:
    env = server_env({"DATABASE_URL": database_url})
    bench.cli(env, "migrate")
    password = secrets.token_urlsafe(18)
    with bench.gql_auth("ab", env) as port:
        pid = processes.running[-1].pid
        url = f"http://127.0.0.1:{port}/graphql"
        token = register(url, f"bench{secrets.token_hex(4)}", password)
        with bench.busy_endpoint(url, env, password, backlog=BACKLOG) as busy:
            receiver, endpoint, admin_token = busy.receiver, busy.endpoint, busy.admin_token

            def deliveries(on: bool) -> None:
                variables = {"input": {"id": endpoint, "enabled": on}}
                graphql(url, ENABLE_QUERY, variables, admin_token)
                if not on:
                    receiver.wait_idle(timeout=RECEIVER_SECONDS + 10)
                time.sleep(1)  # on: every slot busy again; off: the last records written

            run = Run(bench, pid, url, receiver)
            time.sleep(2)
            delivering, attempts = run.idle("delivering")
            deliveries(False)
            quiet, _ = run.idle("not delivering")
            if attempts:
                print(f"one attempt: {(delivering - quiet) / attempts * 1000:.1f} ms of server CPU")
            ratios = []
            for round_ in range(rounds):
                pair = []
                for on in (False, True):
                    deliveries(on)
                    rps, cpu, attempts, open_ = run.me(token, bench.options.duration)
                    pair.append(rps)
                    print(
                        f"round {round_} deliveries {'on ' if on else 'off'} {rps:8.1f} req/s "
                        f"{cpu:6.0f} us CPU/request  {attempts:3} attempts, {open_:.1f} open"
                    )
                ratios.append(pair[1] / pair[0])
            listed = " ".join(f"{ratio:.2f}" for ratio in ratios)
            print(f"on/off: {listed}; median {statistics.median(ratios):.2f}")


@contextmanager
def database(backend: str, logs: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{logs}/gqlauth.db"
        return
    with mariadb_databases() as names:
        if names is None:
            raise SystemExit("MariaDB is not answering on 127.0.0.1:3306")
        yield "mysql://root@127.0.0.1:3306/" + names[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "mariadb"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=6)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="gql-auth-deliveries-"))
    processes = Processes(logs)
    options = Options(
        duration=args.duration,
        warmup=2,
        connections=16,
        login_connections=8,
        storm_connections=4,
        client="wrk",
    )
    try:
        with database(args.backend, logs) as url:
            alternate(Bench(options, processes, logs), processes, url, args.rounds)
    finally:
        processes.stop_all()


if __name__ == "__main__":
    main()
