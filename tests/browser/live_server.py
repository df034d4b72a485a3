"""A real `gql-auth serve` on a free port over a migrated temporary SQLite; node tooling."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import SECRET_KEY

GQL_AUTH = Path(sys.executable).parent / "gql-auth"
REPO = Path(__file__).resolve().parents[2]


def require_tools(*tools: str, why: str) -> dict[str, str]:
    """Paths of the tools; skips without them, fails without them under CI=true."""
    found = {tool: shutil.which(tool) for tool in tools}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        message = f"{', '.join(missing)} not found: {why}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must have it (.ci/run installs it)", pytrace=False)
        pytest.skip(message)
    return {tool: path for tool, path in found.items() if path is not None}


def run(command: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    """Runs a command to completion; fails the test with its output when it fails."""
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{' '.join(command)} took over {timeout:.0f}s:\n{output_of(error)}")
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {done.returncode} in {cwd}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def output_of(error: subprocess.TimeoutExpired) -> str:
    """What a timed-out command printed (bytes even with text=True, per subprocess)."""
    parts = [error.stdout, error.stderr]
    return "\n".join(p.decode(errors="replace") if isinstance(p, bytes) else p or "" for p in parts)


def npm_ci(directory: Path, npm: str) -> None:
    """`npm ci` when node_modules is missing or older than the lock; never runs install scripts."""
    lock = directory / "package-lock.json"
    marker = directory / "node_modules" / ".package-lock.json"  # npm writes it on install
    if marker.is_file() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=directory, timeout=180)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    secret_key: str
    log: Path

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"


def _environment(database_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(Path.home())),
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        # The cheapest argon2 development accepts: real hashing, fast tests.
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_TIME_COST": "1",
        "ARGON2_PARALLELISM": "1",
        "LOG_LEVEL": "WARNING",
    }


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def live_server(workdir: Path) -> Iterator[LiveServer]:
    """Migrates a fresh SQLite file, serves it on a free port, and always stops the server."""
    database_url = f"sqlite:///{workdir / 'live.db'}"
    env = _environment(database_url)
    # cwd=workdir: no .env or development key file of the checkout is read.
    run([str(GQL_AUTH), "migrate"], cwd=workdir, env=env, timeout=60)
    port = _free_port()
    log = workdir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(GQL_AUTH), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        server = LiveServer(f"http://127.0.0.1:{port}", database_url, SECRET_KEY, log)
        _wait_until_healthy(server, process)
        yield server
    finally:
        _stop(process)


def _wait_until_healthy(server: LiveServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"gql-auth serve exited with {process.returncode}:\n{server.log.read_text()}"
            )
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gql-auth serve was not healthy within 30s:\n{server.log.read_text()}")
