"""Wall and CPU per viewer check, by way of reading: `python bench/viewer_read.py [DATABASE_URL]`.

Compares, on one database (a fresh SQLite file by default), the read every
authenticated request makes: the async ORM through the async driver (what
gql-auth did before), the ORM on a sync Session run whole on one thread, and
Core columns on one thread (where SQLite goes when its loop read meets a lock),
on SQLite Core columns on the loop itself, and on a server database the async
driver on the loop (gql_auth.sessions.driver_read, what the service does there),
one at a time and 16 at once against 4 reader threads (and, on PostgreSQL, asyncpg
when it is installed).
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
from contextlib import ExitStack
from pathlib import Path

WORK = Path(tempfile.mkdtemp(prefix="gql-auth-viewer-"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
os.environ["DATABASE_URL"] = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{WORK}/v.db"

import sqlalchemy  # noqa: E402 - after the environment above
from sqlalchemy import make_url, select, update  # noqa: E402
from sqlalchemy.ext.asyncio import (  # noqa: E402
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session  # noqa: E402
from timing import Target, medians_per_call  # noqa: E402 - bench/, beside this script

from gql_auth.core.database import (  # noqa: E402
    create_engine,
    create_loop_reader_engine,
    create_reader_engine,
    create_session_factory,
    sync_url,
)
from gql_auth.core.models import utcnow  # noqa: E402
from gql_auth.security.tokens import AccessClaims, new_session_id  # noqa: E402
from gql_auth.services import VIEWER_READ_THREADS  # noqa: E402
from gql_auth.sessions.driver_read import DriverConnections  # noqa: E402
from gql_auth.sessions.models import AuthSession  # noqa: E402
from gql_auth.sessions.viewer_lookup import ViewerLookup  # noqa: E402
from gql_auth.settings import Settings, get_settings  # noqa: E402
from gql_auth.users.models import User  # noqa: E402

ORM_ROW = select(AuthSession, User).join(User, User.id == AuthSession.user_id)
AT_ONCE = 16


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
    closing = ExitStack()
    if engine.dialect.name != "sqlite":
        targets.update(await server_targets(settings, claims, closing))
    for name, target in targets.items():
        if await target() is None:
            raise SystemExit(f"{name} found no session")
    print(f"viewer check on {reader.url.get_backend_name()}:")
    await measure(targets, batches, batch)
    threads.shutdown()
    lookup.close()
    on_loop.close()
    closing.close()
    await engine.dispose()


async def server_targets(
    settings: Settings, claims: AccessClaims, closing: ExitStack
) -> dict[str, Target]:
    """A server database: the async driver on the loop, against threads, one and 16 at once."""
    engine = create_engine(settings)
    driver = ViewerLookup(
        create_reader_engine(settings),
        threads=1,
        driver=DriverConnections(engine, size=VIEWER_READ_THREADS),
    )
    by_threads = ViewerLookup(create_reader_engine(settings), threads=VIEWER_READ_THREADS)
    closing.callback(by_threads.close)
    closing.callback(driver.close)  # its driver connections go with the process

    async def on_driver() -> object:
        return await driver.resolve(claims)

    targets = {
        "Core columns, async driver on the loop": on_driver,
        f"threads, {AT_ONCE} at once (per read)": at_once(by_threads, claims),
        f"driver, {AT_ONCE} at once (per read)": at_once(driver, claims),
    }
    if engine.dialect.name == "postgresql":
        targets.update(await asyncpg_targets(settings.database_url, claims))
    mysqlclient = mysqlclient_lookup(settings) if engine.dialect.name == "mysql" else None
    if mysqlclient is not None:
        closing.callback(mysqlclient.close)
        targets[f"mysqlclient threads, {AT_ONCE} at once (per read)"] = at_once(mysqlclient, claims)
    return targets


def mysqlclient_lookup(settings: Settings) -> ViewerLookup | None:
    """The reader threads on mysqlclient, a C driver that lets go of the GIL while it waits:
    the other way out of PyMySQL's pure-Python protocol. It needs the MariaDB client
    library's headers to build (Debian's libmariadb-dev), so it is not in requirements.txt."""
    try:
        import MySQLdb  # type: ignore[import-untyped]  # noqa: F401 - only whether it is there
    except ImportError:
        print("  (mysqlclient is not installed: apt-get install libmariadb-dev, then")
        print("   pip install mysqlclient, to compare it)")
        return None
    url = sync_url(settings.database_url).set(drivername="mysql+mysqldb")
    engine = sqlalchemy.create_engine(
        url.update_query_dict({"charset": "utf8mb4"}),
        isolation_level="AUTOCOMMIT",
        pool_size=VIEWER_READ_THREADS,
        pool_reset_on_return=None,
    )
    return ViewerLookup(engine, threads=VIEWER_READ_THREADS)


def at_once(lookup: ViewerLookup, claims: AccessClaims) -> Target:
    """AT_ONCE reads in parallel, as a loaded server has them; timed per read."""

    async def reads() -> object:
        found = await asyncio.gather(*(lookup.resolve(claims) for _ in range(AT_ONCE)))
        return found[0]

    return reads


async def asyncpg_targets(url: str, claims: AccessClaims) -> dict[str, Target]:
    """The same read through asyncpg, when bench/.venv has it: the other async PostgreSQL driver."""
    try:
        import asyncpg  # type: ignore[import-not-found] # bench/.venv only
    except ImportError:
        print("  (asyncpg is not installed: pip install asyncpg to compare it)")
        return {}
    from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

    from gql_auth.sessions.viewer_read import VIEWER_ROW

    compiled = VIEWER_ROW.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
    sql = str(compiled)
    arguments = [
        {"session_id": claims.session_id, "user_id": claims.user_id}[name]
        for name in compiled.positiontup or ()
    ]
    pool = await asyncpg.create_pool(url, min_size=1, max_size=VIEWER_READ_THREADS)

    async def one() -> object:
        return await pool.fetchrow(sql, *arguments)

    async def parallel() -> object:
        return (await asyncio.gather(*(one() for _ in range(AT_ONCE))))[0]

    psycopg_engine = create_async_engine(make_url(url).set(drivername="postgresql+psycopg"))
    asyncpg_engine = create_async_engine(make_url(url).set(drivername="postgresql+asyncpg"))
    touch = (
        update(AuthSession)
        .where(AuthSession.id == claims.session_id)
        .values(last_used_at=AuthSession.last_used_at)
    )

    def write_through(engine: AsyncEngine) -> Target:
        """The write path's unit: one UPDATE and its COMMIT, through SQLAlchemy's async engine."""

        async def write() -> object:
            async with engine.begin() as connection:
                return await connection.execute(touch)

        return write

    return {
        "asyncpg on the loop (raw row)": one,
        f"asyncpg, {AT_ONCE} at once (per read)": parallel,
        "write: UPDATE + COMMIT, psycopg": write_through(psycopg_engine),
        "write: UPDATE + COMMIT, asyncpg": write_through(asyncpg_engine),
    }


async def measure(targets: dict[str, Target], batches: int, batch: int) -> None:
    for name, (cpu, wall) in (await medians_per_call(targets, batches, batch)).items():
        per = AT_ONCE if "at once" in name else 1
        print(f"  {name:40} {cpu / per:7.1f} us CPU {wall / per:7.1f} us wall")


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
