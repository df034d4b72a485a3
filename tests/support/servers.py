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

from tests.support.helpers import LOW_ARGON2_ENVIRONMENT, SECRET_KEY

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
        **LOW_ARGON2_ENVIRONMENT,
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


def wait_for_workers(server: ServerProcess, count: int, timeout: float = 30) -> None:
    """Until `count` uvicorn workers say their application started (the first answers sooner)."""
    deadline = time.monotonic() + timeout
    while server.log.read_text().count("Application startup complete") < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{count} workers did not start:\n{server.log.read_text()}")
        time.sleep(0.2)


def worker_serving(server_pid: int, server_port: int, client_port: int) -> int:
    """The child process of `gql-auth serve` that holds the server end of this connection."""
    wanted = (f"{server_port:04X}", f"{client_port:04X}")
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (fields[1].split(":")[1], fields[2].split(":")[1]) == wanted:
            inode = fields[9]
    assert inode, f"no server socket for client port {client_port}"
    for children in Path(f"/proc/{server_pid}/task").glob("*/children"):
        for child in children.read_text().split():
            for descriptor in Path(f"/proc/{child}/fd").iterdir():
                try:
                    if os.readlink(descriptor) == f"socket:[{inode}]":
                        return int(child)
                except OSError:
                    continue
    raise AssertionError(f"no worker of {server_pid} holds client port {client_port}")
