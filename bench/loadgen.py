"""Fallback load generator when wrk is missing: keep-alive HTTP/1.1 on N connections.

Same contract as load.lua: a fixed request repeated for a fixed time, a
non-2xx status or a body holding "errors" counts as an error, and one
`BENCH {...}` JSON line at the end. Bounded: N connections, a deadline, and a
per-request timeout. Slower than wrk, so its numbers are lower for fast targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from urllib.parse import urlsplit

REQUEST_TIMEOUT = 10.0


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.bad = 0
        self.socket_errors = 0


def build_request(url: str, method: str, body: str, token: str) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    headers = [
        f"{method} {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Connection: keep-alive",
    ]
    payload = body.encode()
    if payload:
        headers += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    raw = ("\r\n".join(headers) + "\r\n\r\n").encode() + payload
    return parts.hostname or "127.0.0.1", parts.port or 80, raw


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    chunks: list[bytes] = []
    while True:  # chunked transfer encoding
        size = int((await reader.readline()).strip() or b"0", 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, b"".join(chunks)
        chunks.append(chunk[:-2])


async def connection(target: tuple[str, int, bytes], deadline: float, tally: Tally) -> None:
    host, port, raw = target
    reader = writer = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None  # noqa: S101 - set together with writer
            started = time.perf_counter()
            writer.write(raw)
            status, body = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT)
            tally.latencies.append(time.perf_counter() - started)
            if not 200 <= status <= 299 or b'"errors"' in body:
                tally.bad += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            tally.socket_errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(args: argparse.Namespace) -> dict[str, int]:
    target = build_request(
        args.url,
        os.environ.get("BENCH_METHOD", "GET"),
        os.environ.get("BENCH_BODY", ""),
        os.environ.get("BENCH_TOKEN", ""),
    )
    tally = Tally()
    started = time.perf_counter()
    deadline = started + args.duration
    await asyncio.gather(*(connection(target, deadline, tally) for _ in range(args.connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(tally.latencies)
    return {
        "requests": len(ordered),
        "bad": tally.bad,
        "socket_errors": tally.socket_errors,
        "duration_us": int(elapsed * 1e6),
        "p50_us": int(percentile(ordered, 0.50) * 1e6),
        "p99_us": int(percentile(ordered, 0.99) * 1e6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=6.0)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(args))
    else:
        result = uvloop.run(run(args))
    print("BENCH " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
