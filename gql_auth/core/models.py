"""The declarative base and the column types every feature's tables share.

Each feature keeps its tables in its own `models` module; gql_auth.tables
imports them all, so the one metadata (and Alembic) sees every table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


class Role(StrEnum):
    """Roles in ascending order of privilege; a higher role holds every lower one."""

    USER = "USER"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (MySQL DATETIME has no zone) and hands back aware UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in {"mysql", "mariadb"}:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# BIGINT on servers, INTEGER on SQLite so it stays the rowid alias.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def binary_string(length: int) -> String:
    """A string compared byte for byte: SQLite's default, utf8mb4_bin on MySQL/MariaDB, "C" on
    PostgreSQL (ordered by bytes too, as on the others).

    For keys we normalize in Python: the database must not fold anything further
    (utf8mb4_unicode_ci would make "josé" equal "jose"), so every backend agrees.
    """
    return (
        String(length)
        .with_variant(
            mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
        )
        .with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")
    )


class Base(DeclarativeBase):
    pass
