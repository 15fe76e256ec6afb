"""The projection processes behind ``slaclock project`` and ``slaclock rebuild``.

The CLI (service side) opens the engine and the event store and passes them
in, so projections never import service code::

    run_worker(engine, store, batch_size=settings.projection_batch_size,
               poll_seconds=settings.projection_poll_seconds)
    run_rebuild(engine, store)
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType
from typing import TextIO

from sqlalchemy import Engine

from projections.follower import Follower
from projections.ports import EventLog, WalCheckpoints
from projections.rebuild import REBUILD_BATCH, Progress, RebuildResult, rebuild
from projections.runner import ProjectionRunner
from projections.tracking import ensure_schema

log = logging.getLogger(__name__)


def run_worker(
    engine: Engine,
    event_log: EventLog,
    *,
    batch_size: int = 500,
    poll_seconds: float = 0.05,
    standby_seconds: float = 1.0,
    checkpoints: WalCheckpoints | None = None,
    out: TextIO | None = None,
) -> None:
    """Follow the log until SIGINT or SIGTERM; stand by while another worker is active."""
    stream = out if out is not None else sys.stderr
    ensure_schema(engine)
    runner = ProjectionRunner(
        engine,
        event_log,
        batch_size=batch_size,
        poll_seconds=poll_seconds,
        standby_seconds=standby_seconds,
        # A worker of its own has cores of its own: on PostgreSQL it reads ahead.
        follower=Follower(engine, event_log, checkpoints=checkpoints, read_ahead=True),
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        stream.write(f"projection worker: signal {signum}, finishing the current batch\n")
        runner.request_stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    stream.write("projection worker: started\n")
    try:
        runner.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    stream.write(f"projection worker: stopped at position {runner.stats.position}\n")


class RebuildStopped(Exception):
    """A signal stopped the rebuild before its switch-over: the live generation is unchanged."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def run_rebuild(
    engine: Engine,
    event_log: EventLog,
    *,
    batch_size: int = REBUILD_BATCH,
    out: TextIO | None = None,
) -> RebuildResult:
    """Rebuild every projection table from the log, with progress on ``out``.

    SIGTERM stops it cleanly: the exception unwinds the evaluation pool (its
    processes are terminated) and rolls back any transaction under way, so the
    live generation stays as it was; the next rebuild drops the partial tables.
    """
    stream = out if out is not None else sys.stderr

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise RebuildStopped(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return rebuild(engine, event_log, batch_size=batch_size, progress=Progress(stream))
    except RebuildStopped:
        stream.write("\nrebuild: stopped by SIGTERM; the live read models are unchanged\n")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
