"""The projection worker loop: a plain (non-daemon) thread, or the main thread of a worker process.

It takes the worker lock (standing by while another process holds it), then
applies the log batch after batch; when caught up it sleeps until woken (a
commit while a ``min_position`` reader waits, see ``ProjectionService.wake``) or
until the poll interval passes.
A failing batch is rolled back, reported in ``stats`` and retried with backoff:
one poison event stops progress visibly, never silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

from sqlalchemy import Engine

from projections.follower import Follower
from projections.lock import WorkerLock, worker_lock
from projections.ports import EventLog

log = logging.getLogger(__name__)

CATCHUP_BATCH_SIZE = 20_000  # the largest batch while behind
BATCH_SECONDS = 0.5  # a batch that took longer is halved, not doubled
MAX_BACKOFF_SECONDS = 30.0
LOCK_PING_SECONDS = 1.0


@dataclass(frozen=True)
class RunnerStats:
    running: bool = False
    active: bool = False  # holds the worker lock (False: standing by)
    position: int = 0  # last position this process committed or loaded
    events_total: int = 0
    batches_total: int = 0
    errors_total: int = 0
    last_error: str | None = None


class Signal(Protocol):
    """What the loop needs of an event flag: threading.Event, or multiprocessing's."""

    def set(self) -> None: ...

    def clear(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class StepLane(Protocol):
    """Where a step runs: the loop's own thread, or one the operating system favours less.

    ``behind_seconds`` is how long the loop has been behind without a break (0 when it
    is caught up), so a lane can give way to the writer during a burst, but not for ever.
    """

    def __call__(self, step: Callable[[], int], behind_seconds: float) -> int: ...


def in_line(step: Callable[[], int], behind_seconds: float) -> int:
    """The default lane: the step runs on the loop's thread."""
    return step()


def next_batch_size(size: int, behind: bool, seconds: float, smallest: int, largest: int) -> int:
    """Double the batch while a full one came back (the log grows faster than the batches
    are applied) within ``BATCH_SECONDS``, up to ``largest``; halve it when one took longer;
    back to ``smallest`` once caught up. The batch thus follows the write rate: small and
    quick when idle, big and cheap per event under load, and never so long that the lag
    (or, on SQLite, the writer waiting for the write lock) grows by seconds."""
    if not behind:
        return smallest
    if seconds > BATCH_SECONDS:
        return max(size // 2, smallest)
    return min(size * 2, largest)


@dataclass
class _Pace:
    """The next batch's size, and since when the loop has been behind without a break."""

    size: int
    behind_since: float | None = None

    def behind_for(self, now: float) -> float:
        return 0.0 if self.behind_since is None else now - self.behind_since

    def after(self, applied: int, started: float, smallest: int, largest: int) -> bool:
        """Account for a step begun at ``started``; True if it found the loop behind."""
        behind = applied == self.size
        if not behind:
            self.behind_since = None
        elif self.behind_since is None:
            self.behind_since = started
        seconds = time.monotonic() - started
        self.size = next_batch_size(self.size, behind, seconds, smallest, largest)
        return behind


class ProjectionRunner:
    def __init__(
        self,
        engine: Engine,
        log: EventLog,
        *,
        batch_size: int = 500,
        catchup_batch_size: int = CATCHUP_BATCH_SIZE,
        poll_seconds: float = 0.05,
        standby_seconds: float = 1.0,
        lock: WorkerLock | None = None,
        follower: Follower | None = None,
        wake: Signal | None = None,
        stop: Signal | None = None,
        on_stats: Callable[[RunnerStats], None] | None = None,
        lane: StepLane = in_line,
    ) -> None:
        self._follower = follower or Follower(engine, log)
        # Its connection is asked once a second, not before every step (two round trips
        # in a one-event step of a few): a lost lock is noticed up to a second later,
        # and meanwhile the tracked position's compare-and-set keeps the standby that
        # took it over and this worker from applying any event twice.
        self._lock = lock or worker_lock(engine, ping_seconds=LOCK_PING_SECONDS)
        self._batch_size = batch_size
        # Behind, bigger transactions pay: a ticket touched several times in one batch
        # is evaluated once, so the CPU per event falls as the batch grows (measured:
        # about 3.5, 2.3 and 1.1 CPU-seconds per 10,000 events at 500, 5,000 and 20,000).
        self._catchup_size = max(batch_size, catchup_batch_size)
        self._poll = poll_seconds
        self._standby = standby_seconds
        # Another process may hold these (the child process of `slaclock serve`).
        self._stop: Signal = stop or threading.Event()
        self._wake: Signal = wake or threading.Event()
        self._on_stats = on_stats
        self._lane = lane
        self._thread: threading.Thread | None = None
        self._stats = RunnerStats()
        self._announced = False  # the first state is logged too: "standing by" from the start

    # --- control ---------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the projection runner is already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="slaclock-projection")
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to finish its batch and exit; join the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("the projection runner did not stop in time")
            self._thread = None

    def request_stop(self) -> None:
        """Stop from a signal handler (no join): ``run`` returns after its batch."""
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def news(self) -> int | None:
        """None: in this process, waiters look at ``stats`` every few milliseconds."""
        return None

    @property
    def stats(self) -> RunnerStats:
        return self._stats

    # --- the loop --------------------------------------------------------------

    def run(self) -> None:
        """Run until stopped: the body of the thread, or of ``slaclock project``."""
        self._set(running=True)
        failures = 0
        pace = _Pace(self._batch_size)
        try:
            while not self._stop.is_set():
                if not self._hold_lock():
                    self._stop.wait(self._standby)
                    continue
                started = time.monotonic()
                try:
                    step = partial(self._follower.step, pace.size)
                    applied = self._lane(step, pace.behind_for(started))
                except Exception as exc:
                    failures += 1
                    self._back_off(exc, failures)
                    continue
                failures = 0
                self._committed_batch(applied)
                if not pace.after(applied, started, self._batch_size, self._catchup_size):
                    self._wake.wait(self._poll)
                    self._wake.clear()
        finally:
            self._follower.close()
            self._lock.release()
            self._set(running=False, active=False)

    def _back_off(self, exc: Exception, failures: int) -> None:
        self._failed(exc)
        # A connection opened while the database was unwritable stays so for its
        # life (SQLite): the retry opens a new one.
        self._follower.reset()
        # Waking (stop sets it too) cuts the back-off short, e.g. when the database
        # is back after an outage (ProjectionService.retry_now).
        self._wake.wait(min(MAX_BACKOFF_SECONDS, 0.25 * 2**failures))
        self._wake.clear()

    def _hold_lock(self) -> bool:
        held = self._lock.acquire()
        if held != self._stats.active or not self._announced:
            log.info("projection worker %s", "active" if held else "standing by")
            self._announced = True
            self._follower.reset()  # another worker may have moved the position
            self._set(active=held)
        return held

    def _committed_batch(self, applied: int) -> None:
        stats = self._stats
        self._set(
            position=self._follower.position,
            events_total=stats.events_total + applied,
            batches_total=stats.batches_total + (1 if applied else 0),
            last_error=None,
        )

    def _failed(self, exc: Exception) -> None:
        log.exception("projection batch failed; it was rolled back and will be retried")
        self._set(errors_total=self._stats.errors_total + 1, last_error=repr(exc))

    def _set(self, **changes: object) -> None:
        # Readers take the whole frozen snapshot; one assignment keeps it consistent.
        self._stats = replace(self._stats, **changes)  # type: ignore[arg-type]
        if self._on_stats is not None:
            self._on_stats(self._stats)
