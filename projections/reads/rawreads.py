"""Listing reads on the driver's own cursor, each statement compiled once per shape.

A one-ticket listing through SQLAlchemy Core cost about a millisecond of Python
(building, caching and compiling the statement, the execution context, the row
processing), against a few tens of microseconds of SQLite's own work. A
dashboard's read right after its write (``min_position``) is mostly that
overhead, so the listings build their statements with SQLAlchemy, as before,
compile them once per dialect and shape (generation, filters given, page or
not), and run the SQL text with the values on the driver's cursor. Their
columns are plain integers and strings: no type processing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement as Executable

from projections.schema import PROJECTION
from projections.tracking import generation_found, live_generation_sql


class DriverCursor(Protocol):
    """The DB-API cursor methods used here (sqlite3's and psycopg's alike)."""

    description: Any

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    names: tuple[str, ...] | None  # positional parameters' names in order; None: named
    defaults: Mapping[str, Any]  # values of the binds the dialect added (SQLite's OFFSET 0)

    def params(self, values: Mapping[str, Any]) -> Any:
        given = {**self.defaults, **values}
        if self.names is None:
            return given
        return [given[name] for name in self.names]


class StatementCache:
    """Compiled SQL per (dialect, shape): shapes are few (generations by filter sets)."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, Hashable], CompiledQuery] = {}

    def get(
        self, dialect: Dialect, key: Hashable, build: Callable[[], Executable]
    ) -> CompiledQuery:
        found = self._compiled.get((dialect.name, key))
        if found is None:
            compiled = build().compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            names = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = CompiledQuery(compiled.string, names, compiled.construct_params(_check=False))
            self._compiled[(dialect.name, key)] = found
        return found


class RawSnapshot:
    """Reads on a pooled connection's driver cursor, each one statement and one snapshot."""

    def __init__(self, conn: Connection, cache: StatementCache, cursor: DriverCursor) -> None:
        self._conn = conn
        self._cache = cache
        self._cursor = cursor

    def rows(
        self, key: Hashable, build: Callable[[], Executable], values: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        query = self._cache.get(self._conn.dialect, key, build)
        _execute(self._conn, self._cursor, query.sql, query.params(values))
        names = [column[0] for column in self._cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self._cursor.fetchall()]

    def live_generation(self) -> int:
        _execute(self._conn, self._cursor, live_generation_sql(self._conn.dialect), (PROJECTION,))
        found = self._cursor.fetchall()
        return generation_found(found[0][0] if found else None)


def repeatable_read(conn: Connection) -> None:
    """PostgreSQL: ``conn``'s next transaction reads one snapshot.

    Set on the driver's connection, its BEGIN carries it: one round trip where
    ``BEGIN`` and ``SET TRANSACTION`` were two.
    The pool puts the default back when the connection returns to it (and drops
    a connection it cannot reset), so the writes that share the pool never run
    at this level.
    """
    conn.execution_options(isolation_level="REPEATABLE READ")


@contextmanager
def raw_statement(engine: Engine, cache: StatementCache) -> Iterator[RawSnapshot]:
    """A pooled connection's driver cursor for a read of one statement, which is a
    snapshot of itself: no transaction around it (on PostgreSQL, autocommit: no
    ``BEGIN`` and ``ROLLBACK`` round trips)."""
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        if driver is None:
            raise RuntimeError("the pooled connection has no driver connection")
        if conn.dialect.name != "sqlite":
            # Client-side on psycopg; the pool puts the default back on return.
            conn.execution_options(isolation_level="AUTOCOMMIT")
        cursor: DriverCursor = driver.cursor()
        try:
            yield RawSnapshot(conn, cache, cursor)
        finally:
            cursor.close()
            driver.rollback()  # SQLite's cursor may hold a read transaction open


def _execute(conn: Connection, cursor: DriverCursor, sql: str, params: Any) -> None:
    """The driver's errors as SQLAlchemy's (OperationalError, ...), as the rest of the
    service handles them: a database outage is a 503, a dropped table a retry."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        cursor.execute(sql, params)
    except dbapi.Error as error:
        raise DBAPIError.instance(sql, params, error, dbapi.Error) from error
