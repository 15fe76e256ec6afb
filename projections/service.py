"""The projections as one managed component: run, read, wait for a position, report lag.

``ProjectionService`` is what the HTTP app holds (``app.state.projection_service``):
``start()``/``stop()`` in the lifespan (when projections run in-process),
``wake(position)`` after each write, ``wait_for_async()`` behind ``min_position``,
``status()`` for /readyz and ``metrics_lines()`` for /metrics, and ``reader``
for the listings. Reads work whether or not this process runs the worker.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from domain.business_time import from_us, to_us
from projections.follower import Follower
from projections.ports import EventLog, Now, WalCheckpoints
from projections.quarantine import quarantine_summary
from projections.reads.compliance import ComplianceQuery, report
from projections.reads.metrics import render
from projections.reads.queries import ProjectionReader
from projections.reads.sla_gauges import SlaFigures, sla_figures
from projections.reads.statement_reads import AsyncDriver
from projections.reads.waiters import PositionWaiters
from projections.runner import ProjectionRunner, RunnerStats
from projections.schema import Tables
from projections.tracking import ensure_schema, read_position

WAIT_STEP_SECONDS = 0.02
# How often an asynchronous wait looks at the in-process runner's position (memory only).
LOCAL_STEP_SECONDS = 0.002
# With news of each commit (projections/reads/waiters.py), looking is only a safety net.
NEWS_STEP_SECONDS = 0.05


def _tracked(conn: Connection, tables: Tables) -> tuple[int, int, int, list[str]]:
    return (tables.generation, read_position(conn, tables), *quarantine_summary(conn, tables))


def utc_now() -> datetime:
    return datetime.now(UTC)


class RunnerHandle(Protocol):
    """A projection runner as the service drives it: in a thread, or in a child process."""

    @property
    def stats(self) -> RunnerStats: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wake(self) -> None: ...

    def news(self) -> int | None:
        """A non-blocking descriptor readable after each commit, if it has one."""
        ...


@dataclass(frozen=True)
class ProjectionSettings:
    batch_size: int = 500
    poll_seconds: float = 0.05
    wait_timeout_seconds: float = 5.0
    standby_seconds: float = 1.0


class ProjectionService:
    def __init__(
        self,
        engine: Engine,
        log: EventLog,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.05,
        wait_timeout_seconds: float = 5.0,
        standby_seconds: float = 1.0,
        now: Now = utc_now,
        runner_factory: Callable[[], RunnerHandle] | None = None,
        checkpoints: WalCheckpoints | None = None,
        read_driver: AsyncDriver | None = None,
    ) -> None:
        """``read_driver``: listings awaited on the event loop (PostgreSQL)."""
        self.settings = ProjectionSettings(
            batch_size, poll_seconds, wait_timeout_seconds, standby_seconds
        )
        self.engine = engine
        self.log = log
        self.now = now
        self.reader = ProjectionReader(engine, self.current_time, read_driver)
        self._runner: RunnerHandle | None = None
        self._runner_factory = runner_factory or self._thread_runner
        self._checkpoints = checkpoints  # the state file's (SQLite), for the thread runner
        self._lock = threading.Lock()
        # How many readers are waiting for a position (min_position reads).
        self._waiting = 0
        self._waiters = PositionWaiters(self._reached, self._news)

    def current_time(self) -> datetime:
        """The query instant (``now`` may be replaced, e.g. by a test moving time)."""
        return self.now()

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._runner is not None:
                return
            ensure_schema(self.engine)
            self._runner = self._runner_factory()
            self._runner.start()

    def _thread_runner(self) -> RunnerHandle:
        return ProjectionRunner(
            self.engine,
            self.log,
            batch_size=self.settings.batch_size,
            poll_seconds=self.settings.poll_seconds,
            standby_seconds=self.settings.standby_seconds,
            follower=Follower(self.engine, self.log, checkpoints=self._checkpoints),
        )

    def stop(self) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()

    def wake(self, position: int) -> None:
        """The writer committed up to ``position``: wake the runner only if a reader waits.

        Waking the runner after every commit made it compete with the writer for
        the GIL and the database (single-event ingest about 24% slower in an A/B
        run), for no reader's benefit. Without a waiting reader the runner
        follows at its poll interval, in bigger and cheaper batches; a
        ``min_position`` read gets its write projected as soon as it is committed.
        """
        if self._waiting:
            self._wake_runner()

    def _wake_runner(self) -> None:
        runner = self._runner
        if runner is not None:
            runner.wake()

    def retry_now(self) -> None:
        """The database is back: retry a failed batch now rather than after its back-off."""
        self._wake_runner()

    # --- positions ---------------------------------------------------------------

    def position(self) -> int:
        """The live generation's committed position, as any process sees it."""
        return self.reader.read(read_position)

    def local_position(self) -> int | None:
        """The in-process runner's position while it is the active one, else None."""
        runner = self._runner
        if runner is not None and runner.stats.active:
            return runner.stats.position
        return None

    async def wait_for_async(self, position: int, timeout: float | None = None) -> bool:
        """True once the projections have processed ``position``; False after ``timeout``.

        It holds no thread: many readers may wait at once.

        A blocking wait held one of the server's worker threads per waiting reader,
        so at a few hundred writes a second, each read after its write, the pool was
        soon all waiters and every other request queued behind them. The waiters
        share one poller (projections/reads/waiters.py): while the runner is in this
        process its position is in memory and is looked at every few milliseconds;
        otherwise the tracked position is read on a thread.
        """
        limit = self.settings.wait_timeout_seconds if timeout is None else timeout
        local = self.local_position()
        if local is not None and local >= position:
            return True
        with self._lock:
            self._waiting += 1
        try:
            self._wake_runner()  # its commit may have found nobody waiting
            return await self._waiters.wait(position, limit)
        finally:
            with self._lock:
                self._waiting -= 1

    def _news(self) -> int | None:
        runner = self._runner
        return None if runner is None else runner.news()

    async def _reached(self) -> tuple[int, float]:
        local = self.local_position()
        if local is not None:
            return local, (LOCAL_STEP_SECONDS if self._news() is None else NEWS_STEP_SECONDS)
        return await asyncio.to_thread(self.position), WAIT_STEP_SECONDS

    # --- reads ---------------------------------------------------------------------

    def compliance(self, query: ComplianceQuery) -> tuple[list[dict[str, Any]], datetime]:
        """The report's groups, and the instant time-driven breaches were decided at."""
        now_us = to_us(self.now())
        groups = self.reader.read(lambda conn, tables: report(conn, tables, query, now_us))
        return groups, from_us(now_us)

    def sla_figures(self) -> SlaFigures:
        """Breached, at-risk and attainment figures for /metrics, decided now."""
        now_us = to_us(self.now())
        return self.reader.read(lambda conn, tables: sla_figures(conn, tables, now_us))

    # --- health --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Where the projection stands, for /readyz (JSON-ready)."""
        generation, position, quarantined, shown = self.reader.read(_tracked)
        head = self.log.max_position()
        runner = self._runner
        stats = runner.stats if runner is not None else RunnerStats()
        return {
            "running": stats.running,
            "active": stats.active,
            "generation": generation,
            "position": position,
            "head": head,
            "lag_events": max(0, head - position),
            "lag_seconds": round(self._lag_seconds(position, head), 3),
            "events_total": stats.events_total,
            "errors_total": stats.errors_total,
            "last_error": stats.last_error,
            # Set aside, not failed: the others are projected, so readiness stands.
            "quarantined_tickets": quarantined,
            "quarantined_examples": shown,
        }

    def _lag_seconds(self, position: int, head: int) -> float:
        """How long the oldest event not yet processed has been waiting."""
        if head <= position:
            return 0.0
        oldest = self.log.read_after(position, 1)
        if not oldest:
            return 0.0
        waited = self.now() - oldest[0][1].timestamp
        return max(0.0, waited.total_seconds())

    def metrics_lines(self) -> list[str]:
        """Prometheus text-format lines (HELP, TYPE and samples) for /metrics."""
        return render(self.status())
