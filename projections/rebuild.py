"""``slaclock rebuild``: replay the whole log into fresh tables and switch over atomically.

The new generation is filled page by page while the live one keeps serving
(and keeps following the log, if a worker runs). Memory stays flat: only one
page of events and the rows of the tickets it touches are held at a time. The
last pages are applied in the same transaction that makes the new generation
live, so the switch loses no event; the old tables are dropped after a grace
period that lets in-flight reads finish.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import Engine

from projections.bulk import BulkLoader
from projections.follower import Follower
from projections.ports import EventLog
from projections.schema import (
    create_generation,
    drop_generation,
    existing_generations,
    tables_for,
)
from projections.tracking import ensure_schema, live_generation, lock_schema, write_transaction

log = logging.getLogger(__name__)

REBUILD_BATCH = 2000
BAR_WIDTH = 30


@dataclass(frozen=True)
class RebuildResult:
    generation: int
    replaced: int
    position: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class Progress:
    """A progress bar redrawn at most every ``interval`` seconds on a terminal; elsewhere
    (a log file, a container's output) a plain line every ``line_interval`` seconds."""

    def __init__(
        self, stream: TextIO | None = None, interval: float = 0.5, line_interval: float = 5.0
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._terminal = self._stream.isatty()
        self._interval = interval if self._terminal else line_interval
        self._started = time.monotonic()
        self._shown = 0.0
        self._total = 0
        self._done = 0

    def start(self, total: int) -> None:
        self._started = time.monotonic()
        self._total = total

    def update(self, done: int, events: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._shown < self._interval:
            return
        self._shown = now
        total = max(self._total, done, 1)
        fraction = done / total
        filled = int(fraction * BAR_WIDTH)
        rate = events / max(now - self._started, 1e-9)
        eta = (total - done) / rate if rate > 0 and total > done else 0.0
        figures = (
            f"{fraction:6.1%} position {done:,}/{total:,} {rate:,.0f} events/s eta {eta:,.0f}s"
        )
        if self._terminal:
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self._stream.write(f"\rrebuild [{bar}] {figures} ")
        else:
            self._stream.write(f"rebuild: {figures.strip()}\n")
        self._stream.flush()

    def finish(self, message: str) -> None:
        self._stream.write(f"\n{message}\n" if self._terminal else f"{message}\n")
        self._stream.flush()


def _prepare(engine: Engine) -> tuple[int, int]:
    """Drop leftovers of an interrupted rebuild; create the next generation's empty tables."""
    ensure_schema(engine)
    with engine.connect() as conn, write_transaction(conn):
        lock_schema(conn)
        live = live_generation(conn)
        existing = existing_generations(conn)
        for generation in existing - {live}:
            drop_generation(conn, generation)
        fresh = max(existing | {live}) + 1
        create_generation(conn, fresh, indexes=False)
        return live, fresh


def _drop(engine: Engine, generation: int) -> None:
    with engine.connect() as conn, write_transaction(conn):
        lock_schema(conn)
        if live_generation(conn) != generation:
            drop_generation(conn, generation)


def rebuild(
    engine: Engine,
    log: EventLog,
    *,
    batch_size: int = REBUILD_BATCH,
    progress: Progress | None = None,
    grace_seconds: float = 1.0,
    workers: int | None = None,
) -> RebuildResult:
    """Rebuild into a fresh generation and switch to it; ``workers`` evaluation processes
    (None: as many as there are cores, up to 4, when the log is big enough to pay off)."""
    started = time.monotonic()
    old, fresh = _prepare(engine)
    if progress:
        progress.start(log.max_position())
    counted = [0]

    def on_progress(position: int, events: int) -> None:
        counted[0] = events
        if progress:
            progress.update(position, events)

    BulkLoader(engine, log, tables_for(fresh), workers=workers).load(on_progress)
    position, caught_up = _switch(engine, log, fresh, batch_size)
    events = counted[0] + caught_up
    seconds = time.monotonic() - started
    if progress:
        progress.update(position, events, force=True)
        progress.finish(f"rebuild: generation {fresh} is live ({events:,} events, {seconds:.1f}s)")
    time.sleep(grace_seconds)
    _drop(engine, old)
    return RebuildResult(fresh, old, position, events, seconds)


def _switch(engine: Engine, log: EventLog, generation: int, batch_size: int) -> tuple[int, int]:
    """Apply what was written meanwhile and go live; (position reached, events applied)."""
    follower = Follower(engine, log, generation=generation)
    try:
        applied = follower.switch_over(batch_size)
        return follower.position, applied
    finally:
        follower.close()
