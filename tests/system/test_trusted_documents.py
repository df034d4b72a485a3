"""Trusted documents in real processes: `serve` refuses a bad manifest before any worker
starts, and two production workers run ids and refuse free text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.cli import assert_one_line_failure, run_cli
from tests.support.helpers import (
    PRODUCTION_ARGON2_ENVIRONMENT,
    SqlDatabase,
    assert_error,
    data_of,
)
from tests.support.servers import (
    ServerProcess,
    migrate,
    server_environment,
    wait_for_workers,
    worker_serving,
)
from tests.support.trusted_documents import (
    LISTED,
    ME,
    by_id,
    register_by_id,
    sha256,
    write_manifest,
)


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(tmp_path / "persisted-documents.json", *LISTED)


class TestStartUp:
    def test_serve_refuses_a_bad_manifest_in_one_line_before_any_worker_starts(
        self, tmp_path: Path
    ) -> None:
        path = write_manifest(tmp_path / "manifest.json", ME, "query Nope { nope }")
        result = run_cli(
            "serve",
            "--port",
            "1",  # never bound: the check comes first
            "--workers",
            "2",
            cwd=tmp_path,
            env={
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                "TRUSTED_DOCUMENTS_FILE": str(path),
            },
        )
        line = assert_one_line_failure(result)
        assert line.startswith(f"gql-auth: TRUSTED_DOCUMENTS_FILE {path}: entry")
        assert sha256("query Nope { nope }") in line
        assert "Uvicorn" not in result.stderr and "Started" not in result.stderr


@pytest.mark.slow
async def test_two_production_workers_run_ids_and_refuse_free_text(
    database: SqlDatabase, manifest: Path, tmp_path: Path
) -> None:
    """Each worker loads and checks the manifest itself; both run ids and refuse texts."""
    env = server_environment(
        database.url,
        ENVIRONMENT="production",
        **PRODUCTION_ARGON2_ENVIRONMENT,
        TRUSTED_DOCUMENTS_FILE=str(manifest),
        LOG_LEVEL="INFO",  # wait_for_workers reads uvicorn's start-up lines
    )
    migrate(env, tmp_path)
    server = ServerProcess(env, tmp_path, "--workers", "2")
    try:
        await asyncio.to_thread(server.wait_until_healthy)
        await asyncio.to_thread(wait_for_workers, server, 2)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            payload = await register_by_id(client)
        token = payload["accessToken"]
        ran: set[int] = set()
        refused: set[int] = set()
        for _round in range(10):  # the kernel hands connections out as it likes: until both
            await _one_round(server, token, payload["user"]["username"], ran, refused)
            if len(ran) == 2 and len(refused) == 2:
                break
        log = server.log.read_text()
    finally:
        server.stop()

    # Each worker read and checked the manifest itself, with ONLY on by production's default.
    assert log.count(f"trusted documents: {len(LISTED)} from {manifest}; nothing else runs") == 2
    assert len(ran) == 2, ran  # both workers ran a trusted document
    assert len(refused) == 2, refused  # and both refused a text
    assert database.count("users") == 1


async def _one_round(
    server: ServerProcess, token: str, username: str, ran: set[int], refused: set[int]
) -> None:
    """Requests one after another, each on a new connection, noted by the worker that answered.

    One after another: connections that arrive together are all taken by the
    first worker to wake (asyncio accepts every queued one at once), while a
    lone connection goes to whichever worker is idle.
    """
    for index in range(8):
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            if index % 2:
                response = await by_id(client, ME, token=token)
            else:
                response = await client.post(
                    "/graphql", json={"query": ME}, headers={"Accept": "*/*"}
                )
            stream = response.extensions["network_stream"]  # still open: kept alive
            worker = worker_serving(
                server.process.pid, server.port, stream.get_extra_info("client_addr")[1]
            )
        if index % 2:
            assert data_of(response.json(), "me")["username"] == username
            ran.add(worker)
        else:
            assert_error(response.json(), "PERSISTED_QUERY_ID_REQUIRED")
            refused.add(worker)
