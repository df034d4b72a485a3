"""The viewer check's one SELECT (by session, or by API key), compiled once, run on raw DB-API.

SQLAlchemy's per-statement execution (context, cursor wrapper, result) and a
pool checkout per read cost twice the read itself on SQLite
(docs/performance.md). Here the SQL and each column's converter are worked
out once per engine, and a read is cursor.execute and fetchone: on one kept
connection for the event loop (which runs one read at a time), or on a
pooled one per read for the reader threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, PoolProxiedConnection, Select, and_, bindparam, select
from sqlalchemy.sql.elements import KeyedColumnElement

from gql_auth.api_keys.models import ApiKey
from gql_auth.orgs.models import Membership
from gql_auth.sessions.models import AuthSession
from gql_auth.users.models import User

# Both tables' columns, no ORM entity: building two instances from one row
# costs less than the ORM's row loading (docs/performance.md).
SESSION_COLUMNS = tuple(AuthSession.__table__.columns)
USER_COLUMNS = tuple(User.__table__.columns)
# The role in the session's active organization, by the membership's primary key: a
# removal or demotion applies at the next request, and costs no second round trip.
ORG_ROLE = Membership.__table__.c.role
VIEWER_ROW = (
    select(*SESSION_COLUMNS, *USER_COLUMNS, ORG_ROLE)
    .join_from(AuthSession, User, User.id == AuthSession.user_id)
    .outerjoin(
        Membership,
        and_(
            Membership.organization_id == AuthSession.active_organization_id,
            Membership.user_id == AuthSession.user_id,
        ),
    )
    .where(AuthSession.id == bindparam("session_id"), AuthSession.user_id == bindparam("user_id"))
)
VIEWER_COLUMNS = (*SESSION_COLUMNS, *USER_COLUMNS, ORG_ROLE)
# A request made with an API key: the key by its SHA-256 (unique index) and its owner.
KEY_COLUMNS = tuple(ApiKey.__table__.columns)
KEY_ROW = (
    select(*KEY_COLUMNS, *USER_COLUMNS)
    .join_from(ApiKey, User, User.id == ApiKey.user_id)
    .where(ApiKey.secret_hash == bindparam("secret_hash"))
)
Found = tuple[object, ...] | None


class CompiledRead:
    """One of the reads above for one engine: its columns' values, converted, or None."""

    def __init__(
        self,
        engine: Engine,
        statement: Select[tuple[object, ...]],
        columns: tuple[KeyedColumnElement[Any], ...],
    ) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self._engine = engine
        self._kept: PoolProxiedConnection | None = None
        self._sql = str(compiled)
        self._positions = compiled.positiontup  # None for a named paramstyle
        self._converters = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )

    def on_kept_connection(self, values: Mapping[str, object]) -> Found:
        """For one caller at a time (the event loop); the driver's errors as they are."""
        if self._kept is None:
            self._kept = self._engine.raw_connection()
        return self._fetch(self._kept, values)

    def on_pooled_connection(self, values: Mapping[str, object]) -> Found:
        """For reader threads; after a connection the server closed, once more on a new pool.

        A server that closed one idle connection (a restart, wait_timeout) has
        closed its pool-mates too: as SQLAlchemy's own execution does, every
        connection from before is let go, not just the one that failed.
        """
        dialect = self._engine.dialect
        for attempt in (1, 2):
            connection = self._engine.raw_connection()
            try:
                return self._fetch(connection, values)
            except dialect.loaded_dbapi.Error as error:
                if attempt == 2 or not dialect.is_disconnect(error, connection, None):
                    raise
                connection.invalidate(error)  # no pre-ping: a dead one is found here
                self._engine.dispose(close=False)  # the others go as they come back
            finally:
                connection.close()  # back to the pool (or discarded, once invalidated)
        raise AssertionError("unreachable")

    def _fetch(self, connection: PoolProxiedConnection, values: Mapping[str, object]) -> Found:
        positions = self._positions
        parameters = values if positions is None else tuple(values[name] for name in positions)
        cursor = connection.cursor()
        try:
            cursor.execute(self._sql, parameters)
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        return tuple(
            value if convert is None else convert(value)
            for convert, value in zip(self._converters, row, strict=True)
        )

    def close(self) -> None:
        """The kept connection, then the engine's pool: this read is the engine's one user."""
        if self._kept is not None:
            self._kept.close()
            self._kept = None
        self._engine.dispose()
