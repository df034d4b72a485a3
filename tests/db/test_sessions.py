"""The prune command on every backend: expired sessions go, live and revoked-unexpired stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import call_cli
from tests.support.helpers import (
    SqlDatabase,
    login,
    register,
    session_id_of,
)


class TestPruneCommand:
    async def test_prune_deletes_expired_sessions_and_keeps_live_ones(
        self, database: SqlDatabase, tmp_path: Path, four_sessions: list[dict[str, Any]]
    ) -> None:
        expired, revoked_and_expired, revoked, live = map(session_id_of, four_sessions)
        past = datetime.now(UTC) - timedelta(days=1)
        database.update_session(expired, expires_at=past)
        database.update_session(revoked_and_expired, expires_at=past, revoked_at=past)
        database.update_session(revoked, revoked_at=past)

        # cwd: no stray .env is read
        result = call_cli("prune", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr
        assert "deleted 2 " in result.stdout
        # Revoked but unexpired stays, so a late replay still meets a revoked session.
        assert {row["id"] for row in database.rows("sessions")} == {revoked, live}


@pytest.fixture
async def four_sessions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Four sessions of one user, opened through the app."""
    first = await register(client, "prunable")
    return [first, *[await login(client, "prunable") for _ in range(3)]]
