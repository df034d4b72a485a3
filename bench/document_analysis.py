"""Worst-case GraphQL documents at the token limit, timed against a real `gql-auth serve`.

`.venv/bin/python bench/document_analysis.py [--production] [--max-tokens N] [--repeat N]`

Every document is generated as large as MAX_QUERY_TOKENS allows, in the shapes
an attacker would pick: doubling fragment chains (ending in an unknown
fragment, in a cycle, or in a field), wide fan-out, fields the
overlapping-fields rule must compare pairwise (plain, with arguments, aliased,
across fragments), deep nesting, many directives, variables and operations.
Each is sent `--repeat` times, each time made unique (so the parser and
validation caches cannot help), while a second client polls /healthz; it
prints per document the median and slowest answer, the server process's CPU
seconds per request (its own work, whatever else loads the machine) and the
slowest /healthz seen meanwhile.
Not part of `make test`: speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from graphql import (
    OperationDefinitionNode,
    Source,
    TokenKind,
    get_introspection_query,
    parse,
    print_ast,
)
from graphql.language.lexer import Lexer

GQL_AUTH = Path(sys.executable).parent / "gql-auth"
HEALTH_INTERVAL = 0.02


def token_count(document: str) -> int:
    """Tokens as the parser counts them for MAX_QUERY_TOKENS (comments are free)."""
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def largest(build: Callable[[int], str], limit: int) -> str:
    """build(n) for the largest n whose document, made unique, still fits under the limit."""

    def fits(n: int) -> bool:
        return token_count(made_unique(build(n), 0)) <= limit

    low, high = 1, 1
    while fits(high):
        if build(high) == build(low) and high > 1:
            return build(high)  # a shape with a fixed size
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return build(low)


def chain(levels: int, end: str, spreads: int = 2) -> str:
    """F0 spreads F1 `spreads` times, F1 spreads F2 ...: the expansion multiplies per level."""
    parts = ["{ ...F0 }"]
    for level in range(levels):
        parts.append(f"fragment F{level} on Query {{ {f' ...F{level + 1}' * spreads} }}")
    parts.append(f"fragment F{levels} on Query {{ {end} }}")
    return " ".join(parts)


def nested_chain(levels: int) -> str:
    """Depth hidden in fragments: each one goes a level deeper into __Type.ofType."""
    parts = ['{ __type(name: "User") { ...T0 } }']
    parts += [f"fragment T{i} on __Type {{ ofType {{ ...T{i + 1} }} }}" for i in range(levels)]
    parts.append(f"fragment T{levels} on __Type {{ name }}")
    return " ".join(parts)


def deep(levels: int) -> str:
    return '{ __type(name: "User") { ' + "ofType { " * levels + "name" + " }" * (levels + 1) + " }"


def introspection_aliases(count: int) -> str:
    """The standard introspection query's work, asked for `count` times in one document."""
    document = parse(get_introspection_query(descriptions=True))
    operation, *fragments = document.definitions
    assert isinstance(operation, OperationDefinitionNode)  # noqa: S101 - graphql-core's own query
    schema = print_ast(operation.selection_set.selections[0])
    aliased = " ".join(f"s{i}: {schema}" for i in range(count))
    return "{ " + aliased + " } " + " ".join(print_ast(fragment) for fragment in fragments)


def shapes() -> dict[str, Callable[[int], str]]:
    return {
        "doubling chain, unknown spread": lambda n: chain(n, "...Nope"),
        "doubling chain, cycle back to F0": lambda n: chain(n, "...F0"),
        "doubling chain, ends in a field": lambda n: chain(n, "__typename"),
        "tenfold fan-out chain": lambda n: chain(n, "__typename", spreads=10),
        "one fragment spread many times": lambda n: (
            "{ " + "...A " * n + "} fragment A on Query { __typename me { id username } }"
        ),
        "same field repeated": lambda n: "{ " + "me { id username } " * n + "}",
        "same field, same arguments": lambda n: "{ " + 'user(id: "1") { id username } ' * n + "}",
        "same field, conflicting arguments": lambda n: (
            "{ " + " ".join(f'user(id: "{i}") {{ id }}' for i in range(n)) + " }"
        ),
        "aliases onto one name, conflicting": lambda n: (
            "{ " + " ".join(f"me: user(id: {i}) {{ id }}" for i in range(n)) + " }"
        ),
        "overlap across many fragments": lambda n: (
            "{ "
            + " ".join(f"...A{i}" for i in range(n))
            + " } "
            + " ".join(f"fragment A{i} on Query {{ me {{ id username }} }}" for i in range(n))
        ),
        "overlap inside nested fragments": lambda n: (
            "{ "
            + " ".join(f"me {{ ...B{i} }}" for i in range(n))
            + " } "
            + " ".join(f"fragment B{i} on User {{ id username }}" for i in range(n))
        ),
        "leaf repeated with directives": lambda n: (
            "{ " + "__typename @include(if: true) " * n + "}"
        ),
        "unknown directives": lambda n: "{ __typename " + "@nope " * n + "}",
        "repeated non-repeatable directive": lambda n: (
            "{ __typename " + "@skip(if: false) " * n + "}"
        ),
        "deep nesting, past the parser's limit": lambda n: deep(n),
        "deep nesting, just within the parser's": lambda n: deep(min(n, 197)),
        "full introspection, 30 aliases": lambda n: introspection_aliases(min(n, 30)),
        # 22 x 220 fields is the most the expanded-field cap alone would let through.
        "full introspection, 22 aliases": lambda n: introspection_aliases(min(n, 22)),
        "depth hidden in fragment chain": nested_chain,
        "unused variables": lambda n: (
            "query Q(" + " ".join(f"$v{i}: Int" for i in range(n)) + ") { __typename }"
        ),
        "many operations, shared chain": lambda n: (
            " ".join(f"query Q{i} {{ ...F0 }}" for i in range(n))
            + " "
            + chain(n // 2, "__typename", spreads=1).split(" ", 3)[3]
        ),
        "many credential fragments": lambda n: (
            "mutation { "
            + " ".join(f"...L{i}" for i in range(n))
            + " } "
            + " ".join(
                f'fragment L{i} on Mutation {{ login(input: {{username: "a", password: "b"}}) '
                "{ accessToken } }"
                for i in range(n)
            )
        ),
    }


@dataclass
class Outcome:
    name: str
    tokens: int
    size: int
    median: float
    slowest: float
    cpu: float | None
    health_seconds: float
    answer: str


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of the server process (Linux): its own work, whatever the load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class HealthWatch:
    """Polls /healthz while a document is in flight; remembers the slowest answer."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.slowest = 0.0
        self.failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = await self.client.get("/healthz", timeout=30)
                if response.status_code != 200:
                    self.failures += 1
            except httpx.HTTPError:
                self.failures += 1
            self.slowest = max(self.slowest, time.perf_counter() - started)
            await asyncio.sleep(HEALTH_INTERVAL)


def made_unique(document: str, index: int) -> str:
    """Same shape, new text: an operation name the caches have never seen."""
    marker = f"u{index}_{secrets.token_hex(4)}"
    if document.startswith("{"):
        return f"query {marker} {document}"
    if document.startswith("mutation {"):
        return f"mutation {marker} {document[len('mutation ') :]}"
    return f"{document} #{marker}"  # already named: the comment changes the text only


def answer_of(response: httpx.Response) -> str:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    errors = body.get("errors") or []
    if not errors:
        return "ok"
    extensions = errors[0].get("extensions") or {}
    reason = extensions.get("reason")
    code = str(extensions.get("code"))
    more = f" (+{len(errors) - 1})" if len(errors) > 1 else ""
    return code + (f"/{reason}" if reason else "") + more


async def measure(
    server: Server, name: str, document: str, *, repeat: int, timeout: float
) -> Outcome:
    base_url = server.url
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=timeout) as client,
        httpx.AsyncClient(base_url=base_url) as health_client,
    ):
        watch = HealthWatch(health_client)
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch.run(stop))
        await asyncio.sleep(HEALTH_INTERVAL * 2)
        times, answer = [], ""
        cpu_before = cpu_seconds(server.process.pid)
        for index in range(repeat):
            sent = made_unique(document, index)
            started = time.perf_counter()
            try:
                response = await client.post("/graphql", json={"query": sent})
            except httpx.TimeoutException:
                times, answer = [time.perf_counter() - started], "client timeout"
                break
            times.append(time.perf_counter() - started)
            answer = answer_of(response)
        cpu_after = cpu_seconds(server.process.pid)
        stop.set()
        await watcher
        if watch.failures:
            answer += f" [healthz failed {watch.failures}x]"
    cpu = None
    if cpu_before is not None and cpu_after is not None:
        cpu = (cpu_after - cpu_before) / len(times)
    return Outcome(
        name,
        token_count(document),
        len(document),
        statistics.median(times),
        max(times),
        cpu,
        watch.slowest,
        answer,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`gql-auth serve` on SQLite in a temporary directory, one worker."""

    def __init__(self, *, production: bool, max_tokens: int) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="gql-auth-docbench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(self.workdir)),
            "DATABASE_URL": f"sqlite:///{self.workdir / 'bench.db'}",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "ENVIRONMENT": "production" if production else "development",
            "MAX_QUERY_TOKENS": str(max_tokens),
            "LOG_LEVEL": "WARNING",
        }
        migrate = [str(GQL_AUTH), "migrate"]
        subprocess.run(migrate, env=self.env, cwd=self.workdir, check=True)  # noqa: S603 - our CLI
        self.log = (self.workdir / "server.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI
            [str(GQL_AUTH), "serve", "--port", str(self.port)],
            env=self.env,
            cwd=self.workdir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit(f"gql-auth serve did not become healthy; see {self.log.name}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def documents(limit: int, only: str | None) -> Iterator[tuple[str, str]]:
    for name, build in shapes().items():
        if only is None or only in name:
            yield name, largest(build, limit)


async def run(arguments: argparse.Namespace) -> None:
    server = Server(production=arguments.production, max_tokens=arguments.max_tokens)
    try:
        server.wait_until_healthy()
        mode = "production" if arguments.production else "development"
        print(f"gql-auth serve ({mode}), MAX_QUERY_TOKENS={arguments.max_tokens}")
        header = f"{'document':38} {'tokens':>6} {'bytes':>6} {'median s':>8} {'max s':>6}"
        print(f"{header} {'cpu s':>6} {'healthz max s':>13}  answer")
        for name, document in documents(arguments.max_tokens, arguments.only):
            outcome = await measure(
                server, name, document, repeat=arguments.repeat, timeout=arguments.timeout
            )
            cpu = "-" if outcome.cpu is None else f"{outcome.cpu:.3f}"
            print(
                f"{outcome.name:38} {outcome.tokens:6} {outcome.size:6} {outcome.median:8.3f} "
                f"{outcome.slowest:6.3f} {cpu:>6} {outcome.health_seconds:13.3f}  {outcome.answer}",
                flush=True,
            )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--production", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="unique sends per document")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per request")
    parser.add_argument("--only", help="run the shapes whose name contains this")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
