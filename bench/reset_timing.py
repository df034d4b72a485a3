"""requestPasswordReset: median answer time for a known address against an unknown one.

The lookup, token and mail run after the answer (issue 11, item 13), so the two
medians should agree within noise. Runs the real app in-process over HTTP on a
fresh SQLite file (or --database-url), with the mail limits raised out of the way.

    .venv/bin/python bench/reset_timing.py --requests 400
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config

from gql_auth.cli import alembic_directory
from gql_auth.settings import Settings
from gql_auth.web.app import create_app

REGISTER = """
mutation R($input: RegisterInput!) { register(input: $input) { accessToken } }"""
REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"
KNOWN = "bench-known@example.com"


def migrate(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(alembic_directory()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


async def timed(client: httpx.AsyncClient, email: str) -> float:
    started = time.perf_counter()
    response = await client.post(
        "/graphql", json={"query": REQUEST_RESET, "variables": {"email": email}}
    )
    elapsed = time.perf_counter() - started
    if response.json() != {"data": {"requestPasswordReset": True}}:
        raise SystemExit(f"unexpected answer: {response.text}")
    return elapsed


async def run(database_url: str, requests: int) -> None:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        rate_limit_reset_email=f"{requests * 2}/hour",
        rate_limit_reset_ip=f"{requests * 4}/hour",
        argon2_memory_cost=1024,
        argon2_time_cost=1,
        argon2_parallelism=1,
    )
    app = create_app(settings)
    mailer = app.state.services.mailer
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            variables = {
                "input": {"username": "benchknown", "email": KNOWN, "password": "Bench-Pass-4711"}
            }
            await client.post("/graphql", json={"query": REGISTER, "variables": variables})
            known: list[float] = []
            unknown: list[float] = []
            for number in range(requests):
                # Interleaved, each first every other round, so drift and warm-up hit both;
                # the background work is drained between requests, as no answer includes it.
                pair = [(known, KNOWN), (unknown, f"nobody{number}@example.com")]
                for samples, email in pair if number % 2 else reversed(pair):
                    samples.append(await timed(client, email))
                    await mailer.drain()
    for name, samples in (("known", known), ("unknown", unknown)):
        print(f"{name:>8}: median {statistics.median(samples) * 1000:.2f} ms over {len(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{Path(directory) / 'bench.db'}"
        migrate(url)
        asyncio.run(run(url, args.requests))


if __name__ == "__main__":
    main()
