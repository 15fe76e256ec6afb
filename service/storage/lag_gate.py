"""Ingest waits while the projections are more than a bound behind this server's writes.

On two cores, `slaclock serve` ingesting batches at full speed and its projection
child share the CPU, and the child's work per event is the larger: on PostgreSQL
it fell behind by 12 s over a minute of batches, on SQLite by 2.5 s. The breach
views, the webhooks and every ``min_position`` read were that late. With the gate,
a write waits before it is queued while the oldest event this server committed
and the projections have not processed is older than ``max_lag_seconds``: ingest
then runs at the rate the projections keep, and the clocks stay that fresh.

The gate never holds writes for a projection that is not moving: it opens when
the projections have not advanced for ``stall_seconds`` while behind (they failed,
or another process holds the worker lock), and closes again only once they have
caught up with this server's writes. A write waits at most ``stall_seconds``.
It looks only at this server's writes and its in-process projections (the
default); with the projections in a `slaclock project` worker there is no gate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

ProjectedPosition = Callable[[], int | None]
WaitFor = Callable[[int, float], Awaitable[bool]]

MAX_TRACKED_COMMITS = 100_000
# A step of 20,000 events can take seconds on a busy machine: not yet a stall.
STALL_SECONDS = 5.0


class LagGate:
    def __init__(
        self,
        max_lag_seconds: float,
        projected: ProjectedPosition,
        wait_for: WaitFor,
        *,
        head: int = 0,
        stall_seconds: float = STALL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``projected``: the in-process projections' position, None when they are not the
        active follower; ``wait_for(position, timeout)``: until they have processed it;
        ``head``: the log's last position at start, which they must reach to arm the gate."""
        self.max_lag_seconds = max_lag_seconds
        self._projected = projected
        self._wait_for = wait_for
        self._stall_seconds = stall_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # (highest position, monotonic instant) of each commit not yet known projected.
        self._commits: deque[tuple[int, float]] = deque()
        # The gate holds writes only once the projections have reached this position:
        # the log's head at start (not an old backlog's), then the last write of a stall.
        self._arm_at = head
        self._seen = -1
        self._advanced_at = clock()
        self.waits = 0

    def committed(self, position: int) -> None:
        """A writer listener: this server committed up to ``position`` now."""
        with self._lock:
            self._commits.append((position, self._clock()))
            if len(self._commits) > MAX_TRACKED_COMMITS:  # a projection long stalled
                self._commits.popleft()

    @property
    def tracked_commits(self) -> int:
        """How many commits wait to be known projected (at most ``MAX_TRACKED_COMMITS``)."""
        with self._lock:
            return len(self._commits)

    async def admit(self) -> None:
        """Return once a new write may be queued (at once unless the gate is closed)."""
        target = self.overdue()
        if target is None:
            return
        self.waits += 1
        await self._wait_for(target, self._stall_seconds)

    def overdue(self) -> int | None:
        """The position the projections must reach before a new write, or None if none."""
        now = self._clock()
        with self._lock:
            if not self._commits or now - self._commits[0][1] <= self.max_lag_seconds:
                return None  # nothing this old unprojected, whatever the position
        position = self._projected()
        with self._lock:
            if position is None:  # not following here now: wait for it to catch up again
                if self._commits:
                    self._arm_at = max(self._arm_at, self._commits[-1][0])
                self._commits.clear()
                return None
            self._note_progress(position, now)
            while self._commits and self._commits[0][0] <= position:
                self._commits.popleft()
            if not self._commits or position < self._arm_at:
                return None
            if now - self._commits[0][1] <= self.max_lag_seconds:
                return None
            # Behind since the oldest write it lacks, or since it last moved, if later.
            if now - max(self._advanced_at, self._commits[0][1]) > self._stall_seconds:
                self._arm_at = self._commits[-1][0]  # not moving: hold no write until it has
                return None
            return self._last_committed_before(now - self.max_lag_seconds)

    def _note_progress(self, position: int, now: float) -> None:
        if position != self._seen:
            self._seen, self._advanced_at = position, now

    def _last_committed_before(self, instant: float) -> int:
        last = self._commits[0][0]
        for position, at in self._commits:
            if at > instant:
                break
            last = position
        return last
