"""The projections as one managed component: run, read, wait for a position, report lag.

``ProjectionService`` is what the HTTP app holds (``app.state.projection_service``):
``start()``/``stop()`` in the lifespan (when projections run in-process),
``wake()`` after each write, ``wait_for()`` behind ``min_position``,
``status()`` for /readyz and ``metrics_lines()`` for /metrics, and ``reader``
for the listings. Reads work whether or not this process runs the worker.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from domain.business_time import from_us, to_us
from projections.compliance import ComplianceQuery, report
from projections.metrics import render
from projections.ports import EventLog, Now
from projections.queries import ProjectionReader
from projections.runner import ProjectionRunner, RunnerStats
from projections.schema import Tables
from projections.tracking import ensure_schema, read_position

WAIT_STEP_SECONDS = 0.02


def _tracked(conn: Connection, tables: Tables) -> tuple[int, int]:
    return tables.generation, read_position(conn, tables)


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    ) -> None:
        self.settings = ProjectionSettings(
            batch_size, poll_seconds, wait_timeout_seconds, standby_seconds
        )
        self.engine = engine
        self.log = log
        self.now = now
        self.reader = ProjectionReader(engine, self.current_time)
        self._runner: ProjectionRunner | None = None
        self._lock = threading.Lock()

    def current_time(self) -> datetime:
        """The query instant (``now`` may be replaced, e.g. by a test moving time)."""
        return self.now()

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._runner is not None:
                return
            ensure_schema(self.engine)
            self._runner = ProjectionRunner(
                self.engine,
                self.log,
                batch_size=self.settings.batch_size,
                poll_seconds=self.settings.poll_seconds,
                standby_seconds=self.settings.standby_seconds,
            )
            self._runner.start()

    def stop(self) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()

    def wake(self) -> None:
        runner = self._runner
        if runner is not None:
            runner.wake()

    def retry_now(self) -> None:
        """The database is back: retry a failed batch now rather than after its back-off."""
        runner = self._runner
        if runner is not None:
            runner.retry_now()

    # --- positions ---------------------------------------------------------------

    def position(self) -> int:
        """The live generation's committed position, as any process sees it."""
        return self.reader.read(read_position)

    def wait_for(self, position: int, timeout: float | None = None) -> bool:
        """True once the projections have processed ``position``; False after ``timeout``."""
        limit = self.settings.wait_timeout_seconds if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            runner = self._runner
            local = runner is not None and runner.stats.active
            if local and runner is not None and runner.stats.position >= position:
                return True
            if self.position() >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            pause = min(remaining, WAIT_STEP_SECONDS)
            if local and runner is not None:
                runner.wait_committed(pause)
            else:
                time.sleep(pause)

    # --- reads ---------------------------------------------------------------------

    def compliance(self, query: ComplianceQuery) -> tuple[list[dict[str, Any]], datetime]:
        """The report's groups, and the instant time-driven breaches were decided at."""
        now_us = to_us(self.now())
        groups = self.reader.read(lambda conn, tables: report(conn, tables, query, now_us))
        return groups, from_us(now_us)

    # --- health --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Where the projection stands, for /readyz (JSON-ready)."""
        generation, position = self.reader.read(_tracked)
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
