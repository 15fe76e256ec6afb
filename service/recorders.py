"""eventsourcing's native recorders, with one bulk statement per group commit.

The library inserts a group row by row (SQLite) or with executemany (PostgreSQL).
These subclasses keep everything else — tables, the PostgreSQL table lock that
keeps positions in commit order, notifications, errors — and insert the whole
group in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier


class BulkSQLiteApplicationRecorder(SQLiteApplicationRecorder):
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


# Four parameters a row, well under SQLite's 32,766 host parameters a statement.
SQLITE_ROWS_PER_STATEMENT = 1000


def _sqlite_params(stored_events: Sequence[StoredEvent]) -> list[Any]:
    params: list[Any] = []
    for s in stored_events:
        params += (_key(s.originator_id), s.originator_version, s.topic, s.state)
    return params


def _key(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


class BulkPostgresApplicationRecorder(PostgresApplicationRecorder):
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
