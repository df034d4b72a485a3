"""The per-request session and user check: one read on the loop, with no thread hand-over.

Every authenticated request runs this read. Through SQLAlchemy's async ORM
on aiosqlite it cost a dozen thread hand-overs (checkout, cursor, execute,
fetch, reset, ...), each a queue put, a thread wake-up and a GIL hand-over.
On SQLite it runs on the loop: one indexed read of a local file in WAL mode,
which never waits on writers, costs less than the hand-over itself; should it
meet a lock, it fails at once and goes to a reader thread
(gql_auth.core.database.create_loop_reader_engine). On a server database it is
one round trip through the async driver's own connections
(gql_auth.sessions.driver_read): on a reader thread, PyMySQL's pure-Python
protocol held the GIL the loop needed. The rows come back detached and join
the request's own session only if a resolver opens it (Context.db), so a
request that writes nothing never begins or commits a transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, Select
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.sql.elements import KeyedColumnElement

from gql_auth.api_keys.models import ApiKey
from gql_auth.core.database import is_transient_conflict
from gql_auth.core.errors import TokenRevoked
from gql_auth.core.models import utcnow
from gql_auth.orgs.models import OrgRole
from gql_auth.security.tokens import AccessClaims
from gql_auth.sessions.driver_read import DriverConnections, DriverRead
from gql_auth.sessions.models import AuthSession
from gql_auth.sessions.sessions import LAST_USED_RESOLUTION, Viewer
from gql_auth.sessions.viewer_read import (
    KEY_COLUMNS,
    KEY_ROW,
    SESSION_COLUMNS,
    USER_COLUMNS,
    VIEWER_COLUMNS,
    VIEWER_ROW,
    CompiledRead,
    Found,
)
from gql_auth.users.models import User

_SESSION_KEYS = tuple(column.key for column in SESSION_COLUMNS)
_USER_KEYS = tuple(column.key for column in USER_COLUMNS)
_SPLIT = len(SESSION_COLUMNS)
_KEY_KEYS = tuple(column.key for column in KEY_COLUMNS)
_KEY_SPLIT = len(KEY_COLUMNS)
KEY_VIEWER_COLUMNS = (*KEY_COLUMNS, *USER_COLUMNS)
_Row = TypeVar("_Row", User, AuthSession, ApiKey)


class _WouldWait(Exception):
    """The read on the loop met a lock: it goes to a reader thread instead."""


class ViewerLookup:
    """Resolves a decoded access token (or an API key's hash) to its live caller, or refuses."""

    def __init__(
        self,
        engine: Engine,
        *,
        threads: int,
        loop_engine: Engine | None = None,
        driver: DriverConnections | None = None,
    ) -> None:
        # Instances are built without a query, which is what would configure the
        # mappers: a fresh worker's first request may well be this read.
        configure_mappers()
        self._by_session = _Reads(engine, loop_engine, driver, VIEWER_ROW, VIEWER_COLUMNS)
        self._by_key = _Reads(engine, loop_engine, driver, KEY_ROW, KEY_VIEWER_COLUMNS)
        self._driver = driver
        # Bounded: at most this many reads wait on the database at once.
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="viewer-read")

    async def resolve(self, claims: AccessClaims) -> Viewer:
        now = utcnow()
        values = {"session_id": claims.session_id, "user_id": claims.user_id}
        row = await self._read(self._by_session, values)
        if row is None:
            raise TokenRevoked
        session = _detached(AuthSession, _SESSION_KEYS, row[:_SPLIT])
        user = _detached(User, _USER_KEYS, row[_SPLIT:-1])
        if not session.is_live(now) or not user.is_active:
            raise TokenRevoked
        org_role = row[-1]
        assert org_role is None or isinstance(org_role, OrgRole)  # noqa: S101 - the column's type
        return Viewer(user=user, signed_in=session, org_role=org_role)

    async def resolve_key(self, secret_hash: str) -> Viewer | None:
        """The key's owner as the caller; None when no key has this hash (a guess).

        TokenRevoked for a key that is revoked or expired, or whose owner is deactivated.
        """
        row = await self._read(self._by_key, {"secret_hash": secret_hash})
        if row is None:
            return None
        key = _detached(ApiKey, _KEY_KEYS, row[:_KEY_SPLIT])
        user = _detached(User, _USER_KEYS, row[_KEY_SPLIT:])
        if not key.is_live(utcnow()) or not user.is_active:
            raise TokenRevoked("This API key has been revoked or has expired.")
        return Viewer(user=user, signed_in=None, api_key=key)

    async def _read(self, reads: _Reads, values: Mapping[str, object]) -> Found:
        if reads.on_driver is not None:
            return await reads.on_driver.read(values)
        try:
            return reads.without_waiting(values)
        except _WouldWait:
            return await asyncio.get_running_loop().run_in_executor(
                self._threads, reads.on_threads.on_pooled_connection, values
            )

    async def aclose(self) -> None:
        """The driver's connections on the loop, then the threads and their engine."""
        if self._driver is not None:
            await self._driver.aclose()
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._by_session.close()
        self._by_key.close()


class _Reads:
    """One read compiled for the reader threads' engine and, on SQLite, the loop's."""

    def __init__(
        self,
        engine: Engine,
        loop_engine: Engine | None,
        driver: DriverConnections | None,
        statement: Select[tuple[object, ...]],
        columns: tuple[KeyedColumnElement[Any], ...],
    ) -> None:
        self.on_threads = CompiledRead(engine, statement, columns)
        self.on_driver = DriverRead(driver, statement, columns) if driver is not None else None
        self._on_loop = (
            CompiledRead(loop_engine, statement, columns) if loop_engine is not None else None
        )

    def without_waiting(self, values: Mapping[str, object]) -> Found:
        """The read on the loop, or _WouldWait (no loop engine, or it met a lock)."""
        if self._on_loop is None:
            raise _WouldWait
        try:
            return self._on_loop.on_kept_connection(values)
        except Exception as error:  # the driver's own errors: no SQLAlchemy layer here
            if is_transient_conflict(error):  # "database is locked", at once: no wait
                raise _WouldWait from error
            raise

    def close(self) -> None:
        self.on_threads.close()
        if self._on_loop is not None:
            self._on_loop.close()


def needs_last_used_update(viewer: Viewer, now: datetime) -> bool:
    """lastUsedAt is written at most once a minute per session or key: a hint for people."""
    last_used = viewer.used.last_used_at
    return last_used is None or now - last_used >= LAST_USED_RESOLUTION


def _detached(model: type[_Row], keys: tuple[str, ...], values: tuple[object, ...]) -> _Row:
    """An instance as a Session loads one and then lets go: Session.add attaches it without SQL.

    Values go straight into the instance dict, as the ORM's own loading does;
    the constructor would record each as a change to be written.
    """
    instance: _Row = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(zip(keys, values, strict=True))
    make_transient_to_detached(instance)
    return instance
