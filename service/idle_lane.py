"""The projection child's steps at the operating system's idle priority, during bursts.

On two cores, `slaclock serve` ingesting batches at full speed leaves a little
CPU idle between its threads' waits; the projection child took that and more.
Even a CPU loop at ``nice 19`` beside the server (projections off) cut its batch
ingest by 17% (22.3k against 27.1k events/s, ad hoc), because a waking server
thread queued behind it. At Linux's idle scheduling class (SCHED_IDLE) the same
loop cost 4 to 8%: a CPU running only such threads counts as free, so a waking
thread lands there and preempts at once. ``benchmarks.default_config`` measured
the child at that class against the normal one: docs/projections.md, "Giving way".

The idle class gets almost nothing while other work keeps every core busy, so
the child gives way only for a while: once the projections have been behind for
``give_way_seconds`` without a break, its steps run at normal priority on the
loop's own thread until they catch up. A thread cannot leave the idle class
without privileges, so the idle steps run on a thread of their own, set once,
and the loop hands each step to it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from projections.runner import StepLane, in_line
from service.settings import Settings
from service.storage.database import DatabaseConfig

log = logging.getLogger(__name__)


class IdleLane:
    def __init__(self, pool: ThreadPoolExecutor, give_way_seconds: float) -> None:
        self._pool = pool
        self._give_way = give_way_seconds

    def __call__(self, step: Callable[[], int], behind_seconds: float) -> int:
        if behind_seconds >= self._give_way:
            return step()
        return self._pool.submit(step).result()


def give_way_seconds(settings: Settings, config: DatabaseConfig) -> float:
    """The setting on SQLite; 0 on PostgreSQL, whose own processes do most of a step's work.

    There, in alternating runs, giving way left batch ingest as it was (0.99 and 0.94
    against 1.00 and 0.95 of projections off) and cut single events to 0.78 and 0.87
    (against 1.05 and 1.08).
    Never longer than the ingest gate's bound: once writes wait for the child, a child
    still at the idle priority would get the CPU only while the server sits waiting.
    """
    if config.kind != "sqlite":
        return 0.0
    bound = settings.ingest_max_lag_seconds
    give_way = settings.projection_give_way_seconds
    return min(give_way, bound) if bound > 0 else give_way


def _lower_this_thread() -> None:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


@contextmanager
def step_lane(give_way_seconds: float) -> Iterator[StepLane]:
    """The idle lane, or the loop's own thread if it is off (0) or the system has none."""
    if give_way_seconds <= 0 or not hasattr(os, "SCHED_IDLE"):
        yield in_line
        return
    with ThreadPoolExecutor(1, thread_name_prefix="slaclock-idle-step") as pool:
        try:
            pool.submit(_lower_this_thread).result()
        except OSError as error:  # e.g. a seccomp profile that forbids it
            log.warning("projection steps run at normal priority: %s", error)
            yield in_line
            return
        yield IdleLane(pool, give_way_seconds)
