"""The projection child's steps give way to the server during a burst, but not for ever.

``step_lane`` runs each step on a thread of Linux's idle scheduling class until
the runner says it has been behind for ``give_way_seconds``; then on the loop's
own thread, at normal priority. The runner tells the lane how long it has been
behind without a break.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest

from projections.runner import ProjectionRunner, in_line
from projections.tracking import ensure_schema
from service.idle_lane import give_way_seconds, step_lane
from service.settings import Settings
from service.storage.database import DatabaseConfig
from tests.integration.test_projection_support import T0, LogWriter, database

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling only")


def test_steps_run_at_the_idle_class_until_behind_for_too_long() -> None:
    with step_lane(10.0) as lane:
        assert lane(lambda: os.sched_getscheduler(0), 0.0) == os.SCHED_IDLE
        assert lane(threading.get_ident, 9.9) != threading.get_ident()
        assert lane(lambda: os.sched_getscheduler(0), 10.0) == os.SCHED_OTHER
        assert lane(threading.get_ident, 10.0) == threading.get_ident()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the loop's own thread is untouched


def test_a_step_that_fails_on_the_idle_thread_fails_in_the_loop() -> None:
    def failing() -> int:
        raise RuntimeError("poison event")

    with step_lane(10.0) as lane, pytest.raises(RuntimeError, match="poison event"):
        lane(failing, 0.0)


def test_zero_seconds_keeps_every_step_on_the_loops_thread() -> None:
    with step_lane(0.0) as lane:
        assert lane is in_line


def test_the_runner_tells_the_lane_how_long_it_has_been_behind(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        for n in range(5):
            writer.opened(f"L-{n}", T0)  # 7 events: steps of 2 come back full 3 times
        ensure_schema(engine)
        told: list[float] = []
        runner: ProjectionRunner

        def recording(step: Callable[[], int], behind_seconds: float) -> int:
            told.append(behind_seconds)
            if len(told) == 5:
                runner.request_stop()
            return step()

        runner = ProjectionRunner(
            engine, store, batch_size=2, catchup_batch_size=2, poll_seconds=0.01, lane=recording
        )
        runner.run()
        assert runner.stats.position == writer.positions[-1]
    # Caught up at first, behind (and longer each time) after each full step, and
    # caught up again once a step came back short.
    assert told[0] == 0.0
    assert 0.0 < told[1] < told[2] < told[3]
    assert told[4] == 0.0


def test_only_the_sqlite_child_gives_way() -> None:
    settings = Settings(
        database_url="sqlite:///unused.db",
        projection_give_way_seconds=7.0,
        ingest_max_lag_seconds=10.0,
    )
    assert give_way_seconds(settings, DatabaseConfig.parse(settings.database_url)) == 7.0
    postgres = settings.model_copy(update={"database_url": "postgresql://localhost/db"})
    assert give_way_seconds(postgres, DatabaseConfig.parse(postgres.database_url)) == 0.0


def test_the_child_gives_way_no_longer_than_writes_may_get_ahead_of_it() -> None:
    config = DatabaseConfig.parse("sqlite:///unused.db")
    settings = Settings(database_url="sqlite:///unused.db", projection_give_way_seconds=7.0)
    gated = settings.model_copy(update={"ingest_max_lag_seconds": 0.5})
    assert give_way_seconds(gated, config) == 0.5
    ungated = settings.model_copy(update={"ingest_max_lag_seconds": 0.0})
    assert give_way_seconds(ungated, config) == 7.0
