"""A real `gql-auth serve` on a free port over a migrated temporary SQLite; node tooling."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.helpers import REGISTER, SECRET_KEY, STRONG_PASSWORD, register_input
from tests.support.servers import ServerProcess, free_port, migrate, server_environment

REPO = Path(__file__).resolve().parents[2]
BROWSER_DIR = REPO / "tests" / "browser"


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
    """`npm ci` when node_modules is missing or older than the lock; never runs install scripts.

    Test files on parallel workers share a directory's node_modules (tests/browser serves
    two of them): one worker installs while the others wait on a lock file outside the
    checkout, then find it up to date.
    """
    lock = directory / "package-lock.json"
    marker = directory / "node_modules" / ".package-lock.json"  # npm writes it on install
    name = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"gql-auth-npm-ci-{name}.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # released when the file closes
        if marker.is_file() and marker.stat().st_mtime >= lock.stat().st_mtime:
            return
        run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=directory, timeout=180)


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    secret_key: str
    log: Path

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"


@contextmanager
def live_server(
    workdir: Path, port: int | None = None, /, *, host_name: str = "127.0.0.1", **settings: str
) -> Iterator[LiveServer]:
    """Migrates a fresh SQLite file, serves it on a free port, and always stops the server.

    The server listens on 127.0.0.1; `host_name` is what the browser types, and the
    server's PUBLIC_URL (WebAuthn wants a name such as localhost, not an address).
    `settings` are more environment variables, or replace these (e.g. ENVIRONMENT).
    A given `port` (positional: every keyword is a setting) lets a test name the
    server's URLs before it starts, as an OpenID Provider needs the redirect URI first.
    """
    database_url = f"sqlite:///{workdir / 'live.db'}"
    port = port or free_port()
    url = f"http://{host_name}:{port}"
    defaults = {"ENVIRONMENT": "development", "LOG_LEVEL": "WARNING", "PUBLIC_URL": url}
    env = server_environment(database_url, **{**defaults, **settings})
    migrate(env, workdir)
    process = ServerProcess(env, workdir, "--host", "127.0.0.1", port=port)
    try:
        process.wait_until_healthy()
        yield LiveServer(url, database_url, SECRET_KEY, process.log)
    finally:
        process.stop()


def register_on(server: LiveServer, username: str) -> None:
    """An account with STRONG_PASSWORD, made over the server's own GraphQL endpoint."""
    body = httpx.post(
        server.graphql_url,
        json={"query": REGISTER, "variables": {"input": register_input(username)}},
        timeout=10,
    ).json()
    assert not body.get("errors"), body


def drive_browser(
    server: LiveServer,
    node: str,
    script: str,
    username: str,
    out: Path,
    **extra_env: str,
) -> dict[str, Any]:
    """Runs a playwright script of tests/browser against the server; its JSON report.

    `extra_env` are more variables for the script (e.g. another server's URL).
    """
    env = {
        **extra_env,
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(Path.home())),
        "BASE_URL": server.url,
        "USERNAME": username,
        "PASSWORD": STRONG_PASSWORD,
        "OUT_DIR": str(out),
    }
    # Its own process group; on a timeout SIGTERM lets playwright close Chromium first.
    process = subprocess.Popen(
        [node, str(BROWSER_DIR / script)],
        cwd=BROWSER_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            stdout, stderr = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        pytest.fail(f"the browser run took over 120s:\n{stderr}\n{stdout}")
    assert process.returncode == 0, f"browser run failed:\n{stderr}\n{stdout}"
    report: dict[str, Any] = json.loads(stdout)
    return report
