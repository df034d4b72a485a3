"""What the tests' own Node servers share: starting one, and reading its HTML forms.

tests/oidc/provider.mjs (an OpenID Provider) and tests/oidc/github.mjs (a local GitHub)
each take `--port 0 --config <file>` and print one JSON line once they listen; their
sign-in pages are plain HTML forms that the tests fill in like a browser would.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

STARTUP_TIMEOUT = 20.0


@dataclass(frozen=True)
class NodeServer:
    """A running server: what it printed once it listened, and where its stderr goes."""

    started: dict[str, Any]
    log: Path


@contextmanager
def running_node_server(
    node: str, script: Path, config: dict[str, Any], *, prefix: str
) -> Iterator[NodeServer]:
    """`node <script> --port 0 --config <file>`, always stopped after.

    Everything it writes (its config, stdout with the started line, stderr) lives in
    a temporary directory, so parallel workers each run their own and share nothing.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        config_file, stdout, stderr = (
            Path(workdir) / name for name in ("config.json", "stdout.txt", "stderr.log")
        )
        config_file.write_text(json.dumps(config))
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", workdir)}
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                [node, str(script), "--port", "0", "--config", str(config_file)],
                cwd=script.parent,
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        try:
            yield NodeServer(_started_line(process, script, stdout, stderr), stderr)
        finally:
            _stop(process)


def _started_line(
    process: subprocess.Popen[bytes], script: Path, stdout: Path, stderr: Path
) -> dict[str, Any]:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        line = stdout.read_text()
        if line.endswith("\n"):
            started: dict[str, Any] = json.loads(line)
            return started
        if process.poll() is not None:
            pytest.fail(f"{script.name} exited {process.returncode}:\n{stderr.read_text()}")
        time.sleep(0.05)
    pytest.fail(f"{script.name} did not start in {STARTUP_TIMEOUT:.0f}s:\n{stderr.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Form:
    id: str
    action: httpx.URL
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    """The forms of a page with their inputs' names and values (all this needs of HTML)."""

    def __init__(self, base: httpx.URL) -> None:
        super().__init__()
        self.base = base
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = Form(attributes.get("id", ""), self.base.join(attributes["action"]))
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attributes.get("name"):
            self._open.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms_on(response: httpx.Response) -> list[Form] | None:
    """The page's forms; None when the response is not an HTML page at all."""
    if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
        return None
    parser = _FormParser(response.url)
    parser.feed(response.text)
    parser.close()
    return parser.forms


def describe(response: httpx.Response) -> str:
    return f"{response.request.method} {response.url} -> {response.status_code}:\n{response.text}"
