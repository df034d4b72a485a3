"""The development key file generated once: real processes starting in parallel agree on one
key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gql_auth.security.signing_keys import development_key_file, load_signing_keys
from tests.support.databases import migrate
from tests.support.helpers import (
    SECRET_KEY,
    make_settings,
    register,
    running_app,
)
from tests.support.keys import ASYMMETRIC, development


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
class TestDevelopmentKey:
    async def test_it_is_generated_once_beside_the_secret_file_and_kept(
        self, algorithm: str, tmp_path: Path
    ) -> None:
        settings = development(tmp_path, algorithm, secret_key=SECRET_KEY)

        first = load_signing_keys(settings)
        again = load_signing_keys(settings)

        key_file = development_key_file(settings)
        assert key_file.parent == settings.secret_key_file.parent
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert first.kid == again.kid
        assert sorted(path.name for path in tmp_path.iterdir()) == [key_file.name]

    async def test_tokens_survive_a_restart(self, algorithm: str, tmp_path: Path) -> None:
        database = tmp_path / "db.sqlite"
        migrate(f"sqlite:///{database}")
        settings = make_settings(
            f"sqlite:///{database}",
            jwt_algorithm=algorithm,
            secret_key_file=tmp_path / ".gql_auth_secret",
        )
        async with running_app(settings) as before:
            token = (await register(before, "restarted"))["accessToken"]
        async with running_app(settings) as after:
            response = await after.post(
                "/graphql",
                json={"query": "{ me { username } }"},
                headers={"Authorization": f"Bearer {token}"},
            )

        assert response.json() == {"data": {"me": {"username": "restarted"}}}

    def test_parallel_first_starts_agree_on_one_key(self, algorithm: str, tmp_path: Path) -> None:
        # Four processes start at once with no key yet, as workers started by hand would.
        script = (
            "import sys; from gql_auth.settings import Settings;"
            "from gql_auth.security.signing_keys import load_signing_keys;"
            "settings = Settings(_env_file=None, jwt_algorithm=sys.argv[1],"
            " secret_key_file=sys.argv[2]);"
            "print(load_signing_keys(settings).kid)"
        )
        command = [sys.executable, "-c", script, algorithm, str(tmp_path / ".gql_auth_secret")]
        starts = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        outputs = [start.communicate(timeout=60) for start in starts]

        assert [start.returncode for start in starts] == [0, 0, 0, 0], outputs
        kids = {stdout.strip() for stdout, _stderr in outputs}
        assert kids == {load_signing_keys(development(tmp_path, algorithm)).kid}
        assert [path.name for path in tmp_path.iterdir()] == [
            f".gql_auth_secret.{algorithm.lower()}.pem"
        ]  # one key, nothing left aside
