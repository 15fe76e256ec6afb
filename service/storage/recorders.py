"""eventsourcing's native recorders, with one bulk statement per group commit.

The library inserts a group row by row (SQLite) or with executemany (PostgreSQL).
These subclasses keep everything else — tables, the PostgreSQL table lock that
keeps positions in commit order, notifications, errors — and insert the whole
group in one statement.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    Notification,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from service.storage.checkpointer import WRITER_AUTOCHECKPOINT_PAGES


class BulkSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not 0 < len(stored_events) <= SQLITE_ROWS_PER_STATEMENT:
            return super().insert_events(stored_events, **kwargs)
        # The library's connections run in autocommit mode, where one statement is its
        # own transaction: the rows and the commit's fsync take one sqlite3 step, so
        # the writer gives up and wins back the GIL once a group instead of three times.
        with self.datastore.get_connection(commit=True) as connection, _persistence_errors():
            cursor = connection.cursor()
            if not getattr(connection, _TUNED, False):
                # Checkpoints are service/storage/checkpointer.py's work; this is only its bound.
                cursor.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
                setattr(connection, _TUNED, True)
            cursor.execute(
                self._multi_row_insert(len(stored_events)), _sqlite_params(stored_events)
            )
            last = int(cursor.lastrowid)
        return list(range(last - len(stored_events) + 1, last + 1))

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        # One multi-row INSERT per chunk, not executemany: sqlite3 releases the GIL
        # around every step, and each row would then wait to win it back from the
        # busy event loop. A statement is one step, whatever its number of rows.
        last = 0
        for start in range(0, len(stored_events), SQLITE_ROWS_PER_STATEMENT):
            chunk = stored_events[start : start + SQLITE_ROWS_PER_STATEMENT]
            c.execute(self._multi_row_insert(len(chunk)), _sqlite_params(chunk))
            last = int(c.lastrowid)
        # The single writer holds SQLite's write lock for the whole transaction, and a
        # rowid table gives each new row max(rowid) + 1: the group's rowids are consecutive.
        return list(range(last - len(stored_events) + 1, last + 1))

    def _multi_row_insert(self, rows: int) -> str:
        head = self.insert_events_statement.partition("VALUES")[0]
        return head + "VALUES " + ",".join(["(?,?,?,?)"] * rows)


_TUNED = "_slaclock_autocheckpoint_set"

# Four parameters a row, under SQLite's 32,766 host parameters a statement; as many
# rows as the writer's default group, so a group is usually one statement.
SQLITE_ROWS_PER_STATEMENT = 2000

_ERRORS: list[tuple[type[sqlite3.Error], type[PersistenceError]]] = [
    (sqlite3.IntegrityError, IntegrityError),
    (sqlite3.OperationalError, OperationalError),
    (sqlite3.InterfaceError, InterfaceError),
    (sqlite3.DataError, DataError),
    (sqlite3.InternalError, InternalError),
    (sqlite3.ProgrammingError, ProgrammingError),
    (sqlite3.NotSupportedError, NotSupportedError),
    (sqlite3.DatabaseError, DatabaseError),
    (sqlite3.Error, PersistenceError),
]


@contextmanager
def _persistence_errors() -> Iterator[None]:
    """sqlite3's errors as the library's, as its own transactions raise them."""
    try:
        yield
    except sqlite3.Error as error:
        kind = next(ours for theirs, ours in _ERRORS if isinstance(error, theirs))
        raise kind(error) from error


def _sqlite_params(stored_events: Sequence[StoredEvent]) -> list[Any]:
    params: list[Any] = []
    for s in stored_events:
        params += (_key(s.originator_id), s.originator_version, s.topic, s.state)
    return params


def _key(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


T = TypeVar("T")
# A failure quicker than this is a connection that died while idle in the pool (the
# server restarted, a proxy cut it), not an unreachable server.
STALE_CONNECTION_SECONDS = 0.2


def once_more(datastore: PostgresDatastore, call: Callable[[], T]) -> T:
    """``call()``, tried once more at once if it failed on a stale pooled connection.

    The library retries ten times, 0.2 s apart, each try waiting for the pool: a
    down database held every request for many seconds. An unreachable server now
    fails at once (the outage circuit in service/storage/store_circuit.py answers the clients);
    only a connection found dead in the pool is worth an immediate second try.
    """
    started = time.monotonic()
    try:
        return call()
    except (InterfaceError, OperationalError):
        if time.monotonic() - started > STALE_CONNECTION_SECONDS:
            raise
        datastore.pool.check()  # drop every other dead connection, and reconnect
        return call()


def _unretried(method: Any) -> Any:
    return method.__wrapped__  # the library's method without its retry decorator


class BulkPostgresApplicationRecorder(PostgresApplicationRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        insert = _unretried(PostgresApplicationRecorder.insert_events)
        result: Sequence[int] | None = once_more(
            self.datastore, lambda: insert(self, stored_events, **kwargs)
        )
        return result

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        select = _unretried(PostgresApplicationRecorder.select_notifications)
        result: Sequence[Notification] = once_more(
            self.datastore,
            lambda: select(self, start, limit, stop, topics, inclusive_of_start=inclusive_of_start),
        )
        return result

    def max_notification_id(self) -> int | None:
        select = _unretried(PostgresApplicationRecorder.max_notification_id)
        result: int | None = once_more(self.datastore, lambda: select(self))
        return result

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bulk_insert = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING originator_id, originator_version, notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=SQL(self.datastore.originator_id_type),
        )

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self._bulk_insert,
            (
                [s.originator_id for s in stored_events],
                [s.originator_version for s in stored_events],
                [s.topic for s in stored_events],
                [s.state for s in stored_events],
            ),
        )

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        assigned = {
            (row["originator_id"], row["originator_version"]): row["notification_id"]
            for row in curs.fetchall()
        }
        return [assigned[(s.originator_id, s.originator_version)] for s in stored_events]
