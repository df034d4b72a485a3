"""`gql-auth serve` as a real process on a free port, for tests that need a whole server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import SECRET_KEY

GQL_AUTH = Path(sys.executable).parent / "gql-auth"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(database_url: str, **extra: str) -> dict[str, str]:
    """Only what the server needs: no settings leak in from the test runner's environment."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(Path.home())),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        # The cheapest argon2 development accepts: real hashing, fast tests.
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_TIME_COST": "1",
        "ARGON2_PARALLELISM": "1",
        **extra,
    }


def migrate(env: dict[str, str], workdir: Path) -> None:
    """`gql-auth migrate` as an operator runs it before serving; a failure fails the test."""
    command = [str(GQL_AUTH), "migrate"]
    done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"gql-auth migrate exited {done.returncode}:\n{done.stdout}\n{done.stderr}")


class ServerProcess:
    """Started at construction; call wait_until_healthy, and always stop (it reaps)."""

    def __init__(
        self, env: dict[str, str], workdir: Path, *extra_args: str, port: int | None = None
    ) -> None:
        # A given port: a restarted server keeps the address its clients know.
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{self.port}.log"
        with self.log.open("wb") as output:
            # cwd=workdir: no .env or development key file of the checkout is read.
            self.process = subprocess.Popen(
                [str(GQL_AUTH), "serve", "--port", str(self.port), *extra_args],
                env=env,
                cwd=workdir,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_until_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gql-auth serve exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"gql-auth serve not healthy after {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> int:
        """SIGTERM (a graceful shutdown), then SIGKILL if it hangs; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
