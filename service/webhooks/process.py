"""``slaclock webhooks``: the scheduler and the dispatcher, active in one process per database.

Its own single-active lock (``projections.lock``, name ``webhooks``) keeps one
dispatcher per database; others stand by and take over when it dies. On taking
the lock it first puts back what a dead predecessor was sending (at least once).

Contract notices (``allowance_low``, ``credit_claimable``) are swept in another
thread every ``notice_seconds`` (service/webhooks/notices.py).

The scheduler runs in a thread: it fires the marks whose instant has passed,
then sleeps until the earliest next instant, reading it again every
``SCHEDULE_POLL_SECONDS`` because the projections (possibly another process)
add earlier ones. Announcements therefore leave within that poll of their
instant, well inside a second.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import TextIO

from sqlalchemy import Engine

from projections.lock import WorkerLock, worker_lock
from projections.tracking import ensure_schema
from projections.webhooks.deliveries import release_claims
from projections.webhooks.outbox import wall_us
from projections.webhooks.schedule import FIRE_BATCH, fire_due, next_instant
from service.webhooks.dispatcher import Dispatcher
from service.webhooks.notices import NoticeSource, NoticeSweeper

log = logging.getLogger(__name__)

SCHEDULE_POLL_SECONDS = 0.25
LOCK_CHECK_SECONDS = 1.0
STANDBY_SECONDS = 1.0


class Scheduler:
    def __init__(self, engine: Engine, stop: threading.Event) -> None:
        self._engine = engine
        self._stop = stop
        self.fired = 0

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                due = fire_due(self._engine, wall_us())
                self.fired += due
                if due >= FIRE_BATCH:
                    continue
                self._stop.wait(self._sleep())
            except Exception:
                log.exception("webhook scheduler round failed; retrying")
                self._stop.wait(1.0)

    def _sleep(self) -> float:
        with self._engine.connect() as conn:
            earliest = next_instant(conn)
        if earliest is None:
            return SCHEDULE_POLL_SECONDS
        return min(max(0.0, (earliest - wall_us()) / 1e6), SCHEDULE_POLL_SECONDS)


class WebhookWorker:
    """Stand by until the lock is ours, then schedule and dispatch until stopped or it is lost."""

    def __init__(
        self,
        engine: Engine,
        dispatcher: Dispatcher,
        lock: WorkerLock | None = None,
        *,
        notices: NoticeSource | None = None,
        notice_seconds: float = 5.0,
    ):
        self._engine = engine
        self._dispatcher = dispatcher
        self._lock = lock or worker_lock(engine, "webhooks")
        self._notices = notices
        self._notice_seconds = notice_seconds
        self.stop = threading.Event()

    def run(self) -> None:
        ensure_schema(self._engine)
        try:
            while not self.stop.is_set():
                if self._lock.acquire():
                    self._active()
                else:
                    self.stop.wait(STANDBY_SECONDS)
        finally:
            self._lock.release()

    def _active(self) -> None:
        log.info(
            "webhooks worker active; %d interrupted deliveries queued again",
            release_claims(self._engine),
        )
        halt = threading.Event()
        threads = [
            threading.Thread(
                target=Scheduler(self._engine, halt).run, name="slaclock-webhook-scheduler"
            )
        ]
        if self._notices is not None:
            sweeper = NoticeSweeper(self._engine, self._notices, halt, self._notice_seconds)
            threads.append(threading.Thread(target=sweeper.run, name="slaclock-webhook-notices"))
        for thread in threads:
            thread.start()
        try:
            asyncio.run(self._dispatch())
        finally:
            halt.set()
            for thread in threads:
                thread.join()

    async def _dispatch(self) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(self._dispatcher.run(stop))
        checked = time.monotonic()
        while not self.stop.is_set() and not task.done():
            await asyncio.sleep(0.1)  # a stop request is noticed within this
            if time.monotonic() - checked < LOCK_CHECK_SECONDS:
                continue
            checked = time.monotonic()
            if not await asyncio.to_thread(self._lock.acquire):
                log.warning("webhooks lock lost; standing by")
                break
        stop.set()
        await task


def run_webhooks(worker: WebhookWorker, out: TextIO | None = None) -> None:
    """Run until SIGINT or SIGTERM (the body of ``slaclock webhooks``)."""
    stream = out if out is not None else sys.stderr

    def stop(signum: int, _frame: FrameType | None) -> None:
        stream.write(f"webhooks worker: signal {signum}, stopping\n")
        worker.stop.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    stream.write("webhooks worker: started\n")
    try:
        worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    stream.write("webhooks worker: stopped\n")
