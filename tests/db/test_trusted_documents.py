"""Trusted documents on every backend: parallel requests by id each see their own viewer, and
parallel sign-ups of one name make one account."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.databases import Backend
from tests.support.helpers import (
    REGISTER,
    SqlDatabase,
    assert_error,
    data_of,
    make_settings,
    register_input,
    running_app,
)
from tests.support.trusted_documents import (
    LISTED,
    ME,
    by_id,
    register_by_id,
    write_manifest,
)


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(tmp_path / "persisted-documents.json", *LISTED)


@pytest.fixture
async def open_client(database: SqlDatabase, manifest: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Development with a manifest: ids run, and free text still runs (ONLY is off)."""
    settings = make_settings(database.url, trusted_documents_file=manifest)
    async with running_app(settings) as client:
        yield client


class TestParallel:
    async def test_parallel_requests_by_id_each_see_their_own_viewer(
        self, open_client: httpx.AsyncClient, database: SqlDatabase, backend: Backend
    ) -> None:
        payloads = await asyncio.gather(*(register_by_id(open_client) for _ in range(6)))
        responses = await asyncio.gather(
            *(
                by_id(open_client, ME, token=payload["accessToken"], shape=shape)
                for payload in payloads
                for shape in ("documentId", "persistedQuery")
            )
        )

        names = [data_of(response.json(), "me")["username"] for response in responses]
        assert names == [p["user"]["username"] for p in payloads for _ in range(2)]
        assert database.count("users") == 6

    async def test_parallel_sign_ups_by_id_of_one_name_make_one_account(
        self, open_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        same = register_input()
        responses = await asyncio.gather(
            *(by_id(open_client, REGISTER, {"input": same}) for _ in range(5))
        )

        bodies = [response.json() for response in responses]
        assert sum(1 for body in bodies if not body.get("errors")) == 1
        for body in bodies:
            if body.get("errors"):
                assert_error(body, "BAD_USER_INPUT")
        assert database.count("users") == 1
