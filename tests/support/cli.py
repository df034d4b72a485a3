"""Running the gql-auth command in tests: in-process (call_cli) or as the real console
script in a process of its own (run_cli).

call_cli runs `gql_auth.cli.main` with the same clean environment, working directory, stdin
and captured output as run_cli gives the process, and reports the same exit status. Tests
of what a command does use it; run_cli stays for what only a real process shows: the console
script's exit status, `serve`, signals, and the file modes a fresh process creates.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gql_auth.cli import main
from tests.support.helpers import (
    LOW_ARGON2_ENVIRONMENT,
    SECRET_KEY,
)

GQL_AUTH = Path(sys.executable).parent / "gql-auth"


class CliOutcome(Protocol):
    @property
    def returncode(self) -> int: ...

    @property
    def stdout(self) -> str: ...

    @property
    def stderr(self) -> str: ...


@dataclass(frozen=True)
class CliResult:
    """What call_cli saw: the exit status main() (or argparse) ended with, and the output."""

    returncode: int
    stdout: str
    stderr: str


def cli_environment(cwd: Path, env: Mapping[str, str | None] | None) -> dict[str, str]:
    """Only what the test passes, plus PATH, HOME, a locale, the secret and cheap argon2."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "SECRET_KEY": SECRET_KEY,
        **LOW_ARGON2_ENVIRONMENT,
    }
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def run_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Runs the gql-auth console script with a clean environment: only what the test passes."""
    return subprocess.run(
        [str(GQL_AUTH), *args],
        cwd=cwd,
        env=cli_environment(cwd, env),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def call_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    stdin: str | None = None,
) -> CliResult:
    """gql_auth.cli.main(args) in this process, as run_cli would run it in another.

    The environment is exactly cli_environment's for the call (os.environ is swapped and
    restored), the working directory is `cwd` (so no .env or key file of the checkout is
    read), stdin is the given text (not a terminal), and stdout/stderr are captured. Log
    records of WARNING and above go to the captured stderr, as Python's last-resort handler
    prints them in a process that configured no logging (the CLI configures none). main()
    runs on a thread of its own, since its commands call asyncio.run and an async test is
    inside a running loop.
    """
    out, err = io.StringIO(), io.StringIO()
    status: list[int] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            status.append(main(list(args)))
        except SystemExit as stop:  # argparse: --help exits 0, a usage error exits 2
            status.append(_exit_status(stop, err))
        except BaseException as error:  # an uncaught error: a traceback and status 1
            failure.append(error)

    with _process_state(cwd, cli_environment(cwd, env), stdin or "", out, err):
        thread = threading.Thread(target=run, name="gql-auth-cli")
        thread.start()
        thread.join()
    if failure:
        raise failure[0]
    return CliResult(status[0], out.getvalue(), err.getvalue())


def _exit_status(stop: SystemExit, err: io.StringIO) -> int:
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code
    print(stop.code, file=err)
    return 1


@contextlib.contextmanager
def _process_state(
    cwd: Path, environment: dict[str, str], stdin: str, out: io.StringIO, err: io.StringIO
) -> Iterator[None]:
    """What a fresh process of the command would have, for the length of the call."""
    saved_environment = dict(os.environ)
    saved_cwd = Path.cwd()
    saved_stdin = sys.stdin
    last_resort = logging.StreamHandler(err)
    last_resort.setLevel(logging.WARNING)
    root = logging.getLogger()
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(cwd)
    sys.stdin = io.StringIO(stdin)
    root.addHandler(last_resort)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        root.removeHandler(last_resort)
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environment)


def assert_one_line_failure(result: CliOutcome) -> str:
    """Exit status 1 and a single readable line on stderr, never a traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
