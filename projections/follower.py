"""Follows the log into one generation: each step reads a page and applies it in one transaction.

The step's transaction holds, in this order: the check that the generation is
still the one to write (the live one, unless this is a rebuild), the
compare-and-set of the tracked position, and the rows. A crash anywhere before
commit leaves both the rows and the position as they were, so the next run
resumes right after the last committed batch: nothing skipped, nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, Engine

from projections.batch import Batch, Entry
from projections.facts import TicketFact
from projections.ports import EventLog, RecordLog, WalCheckpoints
from projections.projector import Prepared, Projector
from projections.rawfacts import TICKET_TOPICS, raw_fact
from projections.schema import Tables, tables_for
from projections.tracking import (
    GenerationChanged,
    PositionMoved,
    advance_live_position,
    advance_position,
    is_sqlite,
    live_generation,
    lock_schema,
    read_position,
    set_live_generation,
    write_transaction,
)
from projections.webhooks.outbox import ClockWatcher, drop_orphan_marks

SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, for the pool's other users


def batch_reader(log: EventLog) -> Callable[[int, int], Batch]:
    """``read(position, limit)``: up to ``limit`` entries after ``position``.

    Ticket events come as facts read straight from their stored JSON when the log
    hands out its records (what a rebuild reads too); the library's decoder reads
    everything else, and a ticket event of any other shape. Decided once per log:
    the Protocol check alone cost 18 µs, 2% of a one-event step.
    """
    if not isinstance(log, RecordLog):
        return log.read_after
    records = log

    def read(position: int, limit: int) -> Batch:
        found = records.read_records_after(position, limit)
        return [(record[0], _entry(records, *record)) for record in found]

    return read


def _entry(log: RecordLog, _at: int, key: Any, version: int, topic: str, state: bytes) -> Entry:
    if topic in TICKET_TOPICS:
        found = raw_fact(topic, version, state)
        if found is not None:
            return TicketFact(*found)
    return log.decode(StoredEvent(uuid.UUID(str(key)), version, topic, state))


class Follower:
    """Applies the log to a generation. ``generation=None`` follows the live one.

    ``checkpoints``: SQLite only, a thread that checkpoints the state file's WAL,
    told of each commit; without one, a commit past SQLite's bound does it.
    ``read_ahead``: on PostgreSQL, read and evaluate the next batch on a thread while
    one is written (``_read_ahead``); ignored on SQLite.
    """

    def __init__(
        self,
        engine: Engine,
        log: EventLog,
        *,
        generation: int | None = None,
        checkpoints: WalCheckpoints | None = None,
        read_ahead: bool = False,
    ) -> None:
        self._engine = engine
        self._log = log
        self._read = batch_reader(log)
        self._fixed = generation
        self._checkpoints = checkpoints
        self._reads_ahead = read_ahead
        self._conn: Connection | None = None
        self._projector: Projector | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, int, Future[tuple[Batch, Prepared | None]]] | None = None
        self.position = 0

    @property
    def tables(self) -> Tables:
        return self._loaded()[0].tables

    def step(self, limit: int) -> int:
        """Apply up to ``limit`` events in one transaction; how many were applied."""
        projector, conn = self._loaded()
        batch, prepared = self._next(limit)
        if not batch:
            return 0
        try:
            if prepared is None:
                projector.prepare(conn, batch)
            else:
                projector.use(prepared)
            ahead = self._reads_ahead and not is_sqlite(conn)
            if ahead and len(batch) == limit and projector.prepared:
                self._read_ahead(projector, batch[-1][0], limit)
            self.commit(conn, projector, batch)
        except (GenerationChanged, PositionMoved):
            self.reset()
            return 0
        except BaseException:
            self.reset()
            raise
        return len(batch)

    def _next(self, limit: int) -> tuple[Batch, Prepared | None]:
        """The batch after the position, and its evaluation if a thread made it already."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            position, size, future = ahead
            batch, prepared = future.result()
            if (position, size) == (self.position, limit):
                return batch, prepared
        return self._read(self.position, limit), None

    def _read_ahead(self, projector: Projector, position: int, limit: int) -> None:
        """Read and evaluate the next batch on a thread while this one is written.

        On PostgreSQL the database does much of a write, and the follower would
        otherwise wait for it with nothing to do. Only after a full batch (behind)
        of ticket events (the catalog cannot change while the thread reads it), and
        only a batch in which every ticket opens is evaluated ahead (it needs no
        read of the read models). Not on SQLite, whose driver releases the GIL
        around every row it writes and then waits for the thread to give it back.
        Not in `slaclock serve`'s child either: there the server needs the cores.
        """

        def ahead() -> tuple[Batch, Prepared | None]:
            batch = self._read(position, limit)
            return batch, projector.evaluated_ahead(batch) if batch else None

        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="slaclock-read-ahead")
        self._ahead = (position, limit, self._pool.submit(ahead))

    def commit(self, conn: Connection, projector: Projector, batch: Batch) -> None:
        with write_transaction(conn):
            self.apply(conn, projector, batch)
        self.position = batch[-1][0]
        self._committed()

    def apply(self, conn: Connection, projector: Projector, batch: Batch) -> None:
        """The body of a step's transaction (a seam for tests that crash mid-batch)."""
        if self._fixed is None:
            advance_live_position(conn, projector.tables, self.position, batch[-1][0])
        else:
            advance_position(conn, projector.tables, self.position, batch[-1][0])
        projector.apply(conn, batch)

    def switch_over(self, limit: int) -> int:
        """Catch up to the end of the log and make this generation the live one, atomically.

        One transaction: no other switch can interleave (schema lock), the live
        worker's batches wait on the registry row, and readers see the old
        generation until the commit and the complete new one after it.
        """
        self._drop_ahead()  # it reads the catalog, which this may change
        projector, conn = self._loaded()
        applied = 0
        try:
            with write_transaction(conn):
                lock_schema(conn)
                live_generation(conn, for_update=True)
                # Up to the head as of now: later events are the live worker's, on the
                # new generation; chasing a busy writer here could never end.
                head = self._log.max_position()
                while self.position < head and (
                    batch := [e for e in self._read(self.position, limit) if e[0] <= head]
                ):
                    self.apply(conn, projector, batch)
                    self.position = batch[-1][0]
                    applied += len(batch)
                drop_orphan_marks(conn, projector.tables.clocks)
                set_live_generation(conn, projector.tables.generation)
        except BaseException:
            self.reset()
            raise
        self._committed()
        return applied

    def _committed(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.nudge(self.position)

    def reset(self) -> None:
        """Forget in-memory state; the next step reloads it from the database."""
        self._drop_ahead()
        self._projector = None
        if self._conn is not None:
            _durable(self._conn)
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self.reset()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _drop_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            wait([ahead[2]])  # the thread uses the projector: let it finish first

    def _loaded(self) -> tuple[Projector, Connection]:
        if self._conn is None:
            bound = None if self._checkpoints is None else self._checkpoints.bound_pages
            self._conn = _derived(self._engine.connect(), bound)
        if self._projector is None:
            conn = self._conn
            with write_transaction(conn):
                generation = self._fixed or live_generation(conn)
                tables = tables_for(generation)
                self.position = read_position(conn, tables)
                # Only the live generation announces: a rebuild recomputes what was
                # already announced, and must not announce it again.
                observer = ClockWatcher() if self._fixed is None else None
                self._projector = Projector.load(conn, tables, observer)
        return self._projector, self._conn


def _derived(conn: Connection, autocheckpoint_pages: int | None = None) -> Connection:
    """The follower's connection: its commits do not wait for the disk.

    Its rows are derived, and each batch's rows and tracked position commit
    together, so a power cut (or a failover) that loses its last batches loses
    both, and they are applied again from the log. The event writer's commits
    keep their durability. On SQLite, without the fsync the batch holds the state
    file's write lock (which the webhook scheduler and token writes share) only
    for its writes; the log has a file and a lock of its own. On PostgreSQL the commit returns
    before its WAL is flushed (``synchronous_commit=off``, this session only): a
    small batch was mostly that wait, which a ``min_position`` read waits for.
    ``autocheckpoint_pages``: SQLite's bound while a thread checkpoints (``WalCheckpoints``).
    """
    if is_sqlite(conn):
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        if autocheckpoint_pages is not None:
            conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(autocheckpoint_pages)}")
        conn.rollback()
    else:
        conn.exec_driver_sql("SET synchronous_commit TO OFF")
        conn.commit()  # a SET in a rolled-back transaction would be undone
    return conn


def _durable(conn: Connection) -> None:
    """Back to the engine's setting before the connection returns to the pool."""
    if conn.closed:
        return
    try:
        conn.rollback()
        if is_sqlite(conn):
            conn.exec_driver_sql("PRAGMA synchronous=FULL")
            conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
            conn.rollback()
        else:
            conn.exec_driver_sql("RESET synchronous_commit")
            conn.commit()
    except Exception:  # a broken connection is discarded by the pool anyway
        conn.invalidate()
