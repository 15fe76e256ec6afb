"""Background WAL checkpoints for the SQLite store, off the writer's critical path.

In WAL mode the connection whose commit takes the log past ``wal_autocheckpoint``
pages copies the log back into the database before its commit returns. Every
group of new tickets dirties index pages all over the unique index on
``(originator_id, originator_version)`` (the ids are uuid5 hashes), so that copy
costs about as much as the commit itself and grows with the table: the writer's
1,000-row insert took 33-40 ms with it and 20-24 ms without it, at 180,000 to
240,000 rows (docs/architecture.md, "Write path").

This thread runs a PASSIVE checkpoint instead, on its own connection and with
the GIL released, every CHECKPOINT_AFTER_EVENTS committed events or after a quiet
second: it never blocks the writer or a reader. The writer keeps a high
``wal_autocheckpoint`` (WRITER_AUTOCHECKPOINT_PAGES) as a bound, should this
thread ever fall behind. Durability is unchanged: a commit is durable once its
WAL frames are synced, before and after this change.

The projection follower's state file gets one of its own, in the follower's
process, for the same reason (``state_checkpointer``; projections.ports.WalCheckpoints).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

# The writer's own bound: about 40 MB of log at the default 4 KiB page.
WRITER_AUTOCHECKPOINT_PAGES = 10_000
IDLE_SECONDS = 1.0
# Not after every commit: single-event groups would each pay for a checkpoint and
# its fsync of the database file.
CHECKPOINT_AFTER_EVENTS = 1000
# The follower's commits write far more pages per event than the writer's (a ticket
# row, clock rows and marks under their indexes), and one event per commit when a
# min_position read asks for it: at 1,000 events its WAL reached the bound above
# first, and the commit that crossed it spent 100-150 ms copying 40 MB back.
STATE_CHECKPOINT_AFTER_EVENTS = 100


class WalCheckpointer:
    bound_pages = WRITER_AUTOCHECKPOINT_PAGES

    def __init__(
        self,
        database: Path,
        *,
        idle_seconds: float = IDLE_SECONDS,
        after_events: int = CHECKPOINT_AFTER_EVENTS,
    ) -> None:
        self._database = database
        self._idle_seconds = idle_seconds
        self._after_events = after_events
        self._committed_through = 0  # the highest position the writer reported
        self._checkpointed_through = 0
        self._nudged = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="slaclock-checkpoint")
            self._thread.start()

    def nudge(self, position: int) -> None:
        """Called after each commit (a writer listener) with the highest position stored."""
        self._committed_through = max(self._committed_through, position)
        if position - self._checkpointed_through >= self._after_events:
            self._nudged.set()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping = True
            self._nudged.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        connection = sqlite3.connect(self._database, isolation_level=None, timeout=30)
        try:
            while not self._stopping:
                self._nudged.wait(self._idle_seconds)
                self._nudged.clear()
                if self._committed_through > self._checkpointed_through:
                    self._checkpoint(connection)
            self._checkpoint(connection)
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        through = self._committed_through
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self._checkpointed_through = through
            self.checkpoints += 1
        except sqlite3.Error:  # the writer's own bound still holds; try again later
            log.warning("WAL checkpoint failed", exc_info=True)


def state_checkpointer(state_file: Path | None) -> WalCheckpointer | None:
    """A started checkpointer of the projections' state file (SQLite), for the process
    that follows the log into it; None on PostgreSQL. The caller stops it."""
    if state_file is None:
        return None
    checkpointer = WalCheckpointer(state_file, after_events=STATE_CHECKPOINT_AFTER_EVENTS)
    checkpointer.start()
    return checkpointer


@contextmanager
def state_checkpoints(state_file: Path | None) -> Iterator[WalCheckpointer | None]:
    """``state_checkpointer`` for the length of a ``with`` block: stopped when it ends."""
    checkpointer = state_checkpointer(state_file)
    try:
        yield checkpointer
    finally:
        if checkpointer is not None:
            checkpointer.stop()
