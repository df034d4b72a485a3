"""Wall and CPU per viewer check, by way of reading: `python bench/viewer_read.py [DATABASE_URL]`.

Compares, on one database (a fresh SQLite file by default), the read every
authenticated request makes: the async ORM through the async driver (what
gql-auth did before), the ORM on a sync Session run whole on one thread, and
Core columns on one thread (gql_auth.sessions.viewer_lookup on a server database),
and, on SQLite, Core columns on the loop itself (what it does there).
Prints medians over interleaved batches; run it on a quiet machine.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

WORK = Path(tempfile.mkdtemp(prefix="gql-auth-viewer-"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
os.environ["DATABASE_URL"] = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{WORK}/v.db"

from sqlalchemy import select  # noqa: E402 - after the environment above
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from timing import Target, medians_per_call  # noqa: E402 - bench/, beside this script

from gql_auth.core.database import (  # noqa: E402
    create_engine,
    create_loop_reader_engine,
    create_reader_engine,
    create_session_factory,
)
from gql_auth.core.models import utcnow  # noqa: E402
from gql_auth.security.tokens import AccessClaims, new_session_id  # noqa: E402
from gql_auth.sessions.models import AuthSession  # noqa: E402
from gql_auth.sessions.viewer_lookup import ViewerLookup  # noqa: E402
from gql_auth.settings import get_settings  # noqa: E402
from gql_auth.users.models import User  # noqa: E402

ORM_ROW = select(AuthSession, User).join(User, User.id == AuthSession.user_id)


async def signed_in_user(factory: async_sessionmaker[AsyncSession]) -> AccessClaims:
    session_id = new_session_id()
    async with factory() as db, db.begin():
        name = f"v{secrets.token_hex(4)}"
        user = User(username=name, email=f"{name}@example.com", password_hash="")  # never signs in
        user.email_key = user.username_key = name
        db.add(user)
        await db.flush()
        now = utcnow()
        db.add(
            AuthSession(
                id=session_id,
                user_id=user.id,
                refresh_token_hash=secrets.token_hex(32),
                created_at=now,
                last_used_at=now,
                expires_at=now.replace(year=now.year + 1),
            )
        )
    return AccessClaims(user_id=user.id, session_id=session_id)


async def main(batches: int, batch: int) -> None:
    settings = get_settings()
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    reader = create_reader_engine(settings)
    claims = await signed_in_user(factory)
    statement = ORM_ROW.where(AuthSession.id == claims.session_id)
    threads = ThreadPoolExecutor(max_workers=1)
    lookup = ViewerLookup(reader, threads=1)
    loop_engine = create_loop_reader_engine(settings)
    on_loop = ViewerLookup(create_reader_engine(settings), threads=1, loop_engine=loop_engine)

    async def async_orm() -> object:
        async with factory() as db:
            return (await db.execute(statement)).first()

    def sync_orm_read() -> object:
        with Session(reader, expire_on_commit=False) as db:
            row = db.execute(statement).first()
            db.expunge_all()
            return row

    async def sync_orm() -> object:
        return await asyncio.get_running_loop().run_in_executor(threads, sync_orm_read)

    async def core() -> object:
        return await lookup.resolve(claims)

    async def core_on_loop() -> object:
        return await on_loop.resolve(claims)

    targets: dict[str, Target] = {
        "async ORM (aiosqlite/asyncmy)": async_orm,
        "sync ORM, one thread hop": sync_orm,
        "Core columns, one thread hop": core,
    }
    if loop_engine is not None:
        targets["Core columns, on the loop"] = core_on_loop
    for name, target in targets.items():
        if await target() is None:
            raise SystemExit(f"{name} found no session")
    print(f"viewer check on {reader.url.get_backend_name()}:")
    await measure(targets, batches, batch)
    threads.shutdown()
    lookup.close()
    on_loop.close()
    await engine.dispose()


async def measure(targets: dict[str, Target], batches: int, batch: int) -> None:
    for name, (cpu, wall) in (await medians_per_call(targets, batches, batch)).items():
        print(f"  {name:32} {cpu:7.1f} us CPU {wall:7.1f} us wall")


if __name__ == "__main__":
    subprocess.run(  # noqa: S603 - our own CLI
        [str(Path(sys.executable).parent / "gql-auth"), "migrate"],
        cwd=WORK,
        check=True,
        capture_output=True,
        env=os.environ,
    )
    import uvloop

    try:
        uvloop.run(main(batches=20, batch=50))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
