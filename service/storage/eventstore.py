"""The event store: eventsourcing's native SQLite/PostgreSQL recorders behind one small API.

Appends go through the library's ApplicationRecorder (one transaction per call,
optimistic concurrency on (originator_id, version), global positions from its
notification ids). Reads that need positions per aggregate use one indexed SQL
query on the recorder's own table, since ``select_events`` does not return them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    Mapper,
    Notification,
    StoredEvent,
)
from eventsourcing.utils import Environment
from psycopg.rows import tuple_row

from projections.write_gate import write_gate
from service.storage.database import DatabaseConfig
from service.storage.recorders import once_more
from service.storage.store_circuit import StoreUnavailable
from service.storage.transcoder import event_transcoder, stored_ticket_event


@dataclass(frozen=True)
class RecordedEvent:
    """A decoded event with its global position in the log."""

    position: int
    event: DomainEvent


class EventStore:
    def __init__(self, config: DatabaseConfig, *, create_table: bool = True) -> None:
        config.ensure_directory()
        self.config = config
        env = Environment(name="slaclock", env=config.eventsourcing_env())
        env["CREATE_TABLE"] = "y" if create_table else "n"
        env["APPLICATION_RECORDER_TOPIC"] = (
            "service.storage.recorders:BulkSQLiteApplicationRecorder"
            if config.kind == "sqlite"
            else "service.storage.recorders:BulkPostgresApplicationRecorder"
        )
        self._factory = InfrastructureFactory.construct(env)
        self.mapper: Mapper[UUID] = Mapper(transcoder=event_transcoder())
        self.recorder: ApplicationRecorder = self._factory.application_recorder()
        self._position_sql = self._build_position_sql()
        self._identity = self._file_identity()
        self._state_identity = _identity_of(config.state_path)
        self._calls: dict[object, float] = {}  # database calls under way: when each began

    @property
    def sqlite_file(self) -> Path | None:
        """The log's SQLite file (None on PostgreSQL), for a rebuild to read its table."""
        return self.config.sqlite_path

    # --- writing -------------------------------------------------------------

    def encode(self, events: Sequence[DomainEvent]) -> list[StoredEvent]:
        return [stored_ticket_event(e) or self.mapper.to_stored_event(e) for e in events]

    def append(self, events: Sequence[DomainEvent]) -> list[int]:
        """Store ``events`` in one transaction and return their global positions."""
        return self.insert(self.encode(events))

    def insert(self, stored: Sequence[StoredEvent]) -> list[int]:
        """Store encoded events in one transaction and return their global positions."""
        if not stored:
            return []
        # The projections commit into the same SQLite file: queue for its write lock
        # promptly instead of in SQLite's sleeping busy handler.
        with self._call(), write_gate(self.config.sqlite_path):
            positions = self.recorder.insert_events(stored)
        assert positions is not None
        # A commit into a file that was deleted or replaced is lost at the next start.
        # Writability is the outage monitor's to check (verify_file, 4 times a second):
        # each of its dozen system calls here handed the GIL to the busy event loop and
        # waited to win it back, about 130 µs of the server's CPU per single-event write.
        self.verify_identity()
        return list(positions)

    # --- reading -------------------------------------------------------------

    def decode(self, stored: StoredEvent) -> DomainEvent:
        event = self.mapper.to_domain_event(stored)
        assert isinstance(event, DomainEvent)
        return event

    def aggregate_events(self, originator_id: UUID, after_version: int = 0) -> list[RecordedEvent]:
        """The events of one aggregate after ``after_version``, in version order, with positions."""
        rows = self._select_with_positions(originator_id, after_version)
        return [
            RecordedEvent(
                position=int(position),
                event=self.decode(
                    StoredEvent(
                        originator_id=originator_id,
                        originator_version=int(version),
                        topic=str(topic),
                        state=bytes(state),
                    )
                ),
            )
            for position, version, topic, state in rows
        ]

    def aggregate_events_of(
        self, originator_id: UUID, topics: Collection[str]
    ) -> list[RecordedEvent]:
        """``aggregate_events`` restricted to ``topics``: the others are not even decoded
        (a ticket read needs a contract's suspensions, not its thousands of work entries)."""
        return [
            RecordedEvent(
                int(position),
                self.decode(StoredEvent(originator_id, int(version), str(topic), bytes(state))),
            )
            for position, version, topic, state in self._select_with_positions(originator_id, 0)
            if topic in topics
        ]

    def events_of_many(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        """Every event of several aggregates, read in a few queries (the writer's prefetch)."""
        found: dict[UUID, list[RecordedEvent]] = {i: [] for i in originator_ids}
        for start in range(0, len(originator_ids), 500):
            chunk = list(originator_ids[start : start + 500])
            for originator_id, position, version, topic, state in self._select_many(chunk):
                key = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
                stored = StoredEvent(key, int(version), str(topic), bytes(state))
                found[key].append(RecordedEvent(int(position), self.decode(stored)))
        for events in found.values():
            events.sort(key=lambda r: r.event.originator_version)
        return found

    def read_after(self, position: int, limit: int) -> list[tuple[int, DomainEvent]]:
        """Decoded events after ``position`` in global order (for projections)."""
        notifications = self.read_notifications_after(position, limit)
        return [(n.id, self.decode(n)) for n in notifications]

    def read_notifications_after(self, position: int, limit: int) -> Sequence[Notification]:
        with self._call():
            return self.recorder.select_notifications(
                start=position, limit=limit, inclusive_of_start=False
            )

    def read_records_after(self, position: int, limit: int) -> list[tuple[Any, ...]]:
        """What ``read_notifications_after`` reads, as plain (position, originator_id, version,
        topic, state) tuples straight from the recorder's table: the projection follower reads
        every record, and building the library's Notification objects cost it more than the
        query. The same rows in the same order (the notification id is SQLite's rowid)."""
        column = "rowid" if self.config.kind == "sqlite" else "notification_id"
        mark = "?" if self.config.kind == "sqlite" else "%s"
        statement = (
            f"SELECT {column}, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} WHERE {column} > {mark} ORDER BY {column} LIMIT {mark}"
        )
        rows = self._fetch(statement, [position, limit])
        return [(at, key, version, topic, bytes(state)) for at, key, version, topic, state in rows]

    def max_position(self) -> int:
        with self._call():
            return int(self.recorder.max_notification_id() or 0)

    def ping(self) -> None:
        self.max_position()

    def stuck_for(self) -> float:
        """How long the oldest database call still under way has been waiting (0: none).

        Only the calls themselves are timed, not the work around them: a writer busy
        deciding a big group, or a slow machine, is no database outage.
        """
        now = time.monotonic()
        return max((now - started for started in list(self._calls.values())), default=0.0)

    @contextmanager
    def _call(self) -> Iterator[None]:
        key = object()
        self._calls[key] = time.monotonic()
        try:
            yield
        finally:
            del self._calls[key]

    def verify_file(self) -> None:
        """SQLite: raise StoreUnavailable unless the file opened is still there, and writable.

        A deleted database (or directory) keeps working through the open handle, and
        every commit into it would be lost at the next start; a file that became
        read-only fails every write. Neither shows on a read.
        """
        self.verify_identity()
        path, state = self.config.sqlite_path, self.config.state_path
        if path is None or state is None:
            return
        files = (path, *_sidecars(path), state, *_sidecars(state))
        if not all(os.access(p, os.W_OK) for p in files if p.exists()):
            raise StoreUnavailable("the database file is not writable")

    def verify_identity(self) -> None:
        """SQLite: raise StoreUnavailable unless both files opened are still the ones there."""
        path, state = self.config.sqlite_path, self.config.state_path
        if path is None or state is None:
            return
        if self._file_identity() != self._identity:
            raise StoreUnavailable("the database file was removed or replaced; restart needed")
        # The state file (tokens, read models) may be made after this store opened.
        state_identity = _identity_of(state)
        if self._state_identity is None:
            self._state_identity = state_identity
        elif state_identity != self._state_identity:
            raise StoreUnavailable("the state file was removed or replaced; restart needed")

    def reset_connections(self) -> None:
        """SQLite: close the pooled connections, so the next ones open the file afresh.

        A connection opened while the file was read-only stays read-only for its life
        (and in WAL mode shares its read-only shared-memory index with every other
        connection of the process): without this, writes kept failing after the
        permissions came back, until a restart.
        """
        if self.config.kind != "sqlite":
            return
        pool: Any = self.recorder.datastore.pool  # type: ignore[attr-defined]
        with pool._put_condition:  # the library's pool has no public way to do this
            idle = list(pool._pool)
            pool._pool.clear()
        for connection in idle:
            connection.close()

    def _file_identity(self) -> tuple[int, int] | None:
        return _identity_of(self.config.sqlite_path)

    def close(self) -> None:
        self._factory.close()

    # --- SQL with positions ---------------------------------------------------

    def _build_position_sql(self) -> str:
        table = self.events_table
        if self.config.kind == "sqlite":
            return (
                f"SELECT rowid, originator_version, topic, state FROM {table} "
                "WHERE originator_id = ? AND originator_version > ? ORDER BY originator_version"
            )
        return (
            "SELECT notification_id, originator_version, topic, state "
            f"FROM {table} WHERE originator_id = %s AND originator_version > %s "
            "ORDER BY originator_version"
        )

    @property
    def events_table(self) -> str:
        """The recorder's table, schema-qualified on PostgreSQL."""
        name = str(self.recorder.events_table_name)  # type: ignore[attr-defined]
        if self.config.kind == "sqlite":
            return name
        schema = self.recorder.datastore.schema  # type: ignore[attr-defined]
        return f'"{schema}"."{name}"'

    def _select_many(self, chunk: list[UUID]) -> list[tuple[Any, ...]]:
        if self.config.kind == "sqlite":
            marks = ",".join("?" * len(chunk))
            statement = (
                f"SELECT originator_id, rowid, originator_version, topic, state "
                f"FROM {self.events_table} WHERE originator_id IN ({marks})"
            )
            keys: list[Any] = [u.hex for u in chunk]
        else:
            statement = (
                "SELECT originator_id, notification_id, originator_version, topic, state "
                f"FROM {self.events_table} WHERE originator_id = ANY(%s)"
            )
            keys = [chunk]
        return [tuple(row) for row in self._fetch(statement, keys)]

    def _select_with_positions(
        self, originator_id: UUID, after_version: int
    ) -> list[tuple[Any, ...]]:
        key: Any = originator_id.hex if self.config.kind == "sqlite" else originator_id
        return [tuple(row) for row in self._fetch(self._position_sql, [key, after_version])]

    def _fetch(self, statement: str, params: list[Any]) -> list[Any]:
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        sqlite = self.config.kind == "sqlite"

        def fetch() -> list[Any]:
            # One statement is its own snapshot: without the library's BEGIN and ROLLBACK
            # around it (PostgreSQL's pooled connections are in autocommit), a follower's
            # one-event read is one call into the database, not three.
            opened = (
                datastore.get_connection(commit=False) if sqlite else datastore.get_connection()
            )
            with opened as connection, _cursor(connection, sqlite) as cursor:
                cursor.execute(statement, params)
                return list(cursor.fetchall())

        with self._call():
            return fetch() if sqlite else once_more(datastore, fetch)


def _identity_of(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


def _cursor(connection: Any, sqlite: bool) -> Any:
    """A cursor whose rows index like tuples: on PostgreSQL tuples, not the datastore's
    dict rows (a follower reads thousands at a time); on SQLite the library's rows."""
    return connection.cursor() if sqlite else connection.cursor(row_factory=tuple_row)
