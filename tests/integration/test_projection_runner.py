"""The managed component: clean start and stop, one active worker, waiting, lag and failures."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from projections.runner import ProjectionRunner
from projections.service import ProjectionService
from projections.tracking import ensure_schema
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    database,
    follow_all,
)
from tests.support.waiting import eventually


def _projection_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "slaclock-projection"]


def test_the_service_starts_follows_and_stops_without_leaving_a_thread(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        service = ProjectionService(engine, store, poll_seconds=5.0)
        service.start()
        try:
            [thread] = _projection_threads()
            assert not thread.daemon
            position = writer.opened("S-1", T0)
            # A waiting reader wakes the runner well before its 5 s poll.
            assert wait_for(service, position, 3.0)
            assert service.position() == position
        finally:
            service.stop()
        assert _projection_threads() == []
        assert not thread.is_alive()


def test_a_commit_wakes_the_runner_only_while_a_reader_waits(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        service = ProjectionService(engine, store, poll_seconds=5.0)
        service.start()
        try:
            assert eventually(lambda: service.position() == writer.positions[-1])
            batches = _batches(service)
            # Nobody waits: the commit is noted, and the runner sleeps on until its poll.
            service.wake(writer.opened("S-1", T0))
            time.sleep(0.5)
            assert _batches(service) == batches
            # A reader waits for a write not yet made: the commit that makes it wakes the runner.
            answered: list[bool] = []
            reader = threading.Thread(
                target=lambda: answered.append(wait_for(service, writer.positions[-1] + 1, 3.0))
            )
            reader.start()
            time.sleep(0.2)
            service.wake(writer.opened("S-2", T0))
            reader.join(timeout=5)
            assert answered == [True]
        finally:
            service.stop()


def wait_for(service: ProjectionService, position: int, timeout: float) -> bool:
    """A ``min_position`` read's wait, from a thread of its own (an event loop per call)."""
    return asyncio.run(service.wait_for_async(position, timeout))


def _batches(service: ProjectionService) -> int:
    runner = service._runner
    assert runner is not None
    return runner.stats.batches_total


def test_wait_for_gives_up_at_its_bound_when_nothing_projects(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        service = ProjectionService(engine, store)
        ensure_schema(engine)
        started = time.monotonic()
        assert not wait_for(service, writer.positions[-1], 0.3)
        assert 0.3 <= time.monotonic() - started < 2.0
        started = time.monotonic()
        assert wait_for(service, 0, 5.0)  # reached already: answered at the first look
        assert time.monotonic() - started < 2.0


def test_one_worker_is_active_and_a_standby_takes_over(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        ensure_schema(engine)
        first = ProjectionRunner(engine, store, poll_seconds=0.01, standby_seconds=0.05)
        second = ProjectionRunner(engine, store, poll_seconds=0.01, standby_seconds=0.05)
        first.start()
        assert eventually(lambda: first.stats.active)
        second.start()
        try:
            time.sleep(0.3)
            assert (first.stats.active, second.stats.active) == (True, False)
            first.stop()
            assert eventually(lambda: second.stats.active)
            position = writer.opened("T-1", T0)
            assert eventually(lambda: second.stats.position == position)
            assert second.stats.events_total >= 1
        finally:
            first.stop()
            second.stop()


def test_a_standby_says_so_from_the_start(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # An operator (and the failover test) must see which worker stands by, not only the active.
    with database(database_url) as (store, engine):
        ensure_schema(engine)
        first = ProjectionRunner(engine, store, poll_seconds=0.01, standby_seconds=0.05)
        second = ProjectionRunner(engine, store, poll_seconds=0.01, standby_seconds=0.05)
        caplog.set_level(logging.INFO, logger="projections.runner")
        first.start()
        try:
            assert eventually(lambda: first.stats.active)
            second.start()
            assert eventually(lambda: "projection worker standing by" in caplog.messages), (
                caplog.messages
            )
            assert caplog.messages.count("projection worker active") == 1
        finally:
            second.stop()
            first.stop()


def test_status_and_metrics_report_lag_in_events_and_seconds(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        recorded = datetime.now(UTC) - timedelta(seconds=30)
        writer.calendar("office", recorded_at=recorded)
        writer.policy("gold", recorded_at=recorded)
        writer.opened("L-1", T0, recorded_at=recorded)
        ensure_schema(engine)
        service = ProjectionService(engine, store)
        status = service.status()
        assert (status["lag_events"], status["position"], status["head"]) == (3, 0, 3)
        assert status["lag_seconds"] >= 30
        assert status["running"] is False
        lines = service.metrics_lines()
        assert 'slaclock_projection_lag_events{projection="tickets"} 3' in lines
        assert "# TYPE slaclock_projection_lag_seconds gauge" in lines
        follow_all(engine, store)
        assert (service.status()["lag_events"], service.status()["lag_seconds"]) == (0, 0.0)


def test_a_failing_batch_is_reported_and_not_skipped(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("F-1", T0)
        # A version the projection cannot read fails the batch (a ticket that cannot be
        # evaluated is only set aside: test_projection_quarantine.py).
        writer.calendar("bad", {"timezone": "Nowhere/Land", "week": {"mon": [["09:00", "17:00"]]}})
        ensure_schema(engine)
        service = ProjectionService(engine, store, poll_seconds=0.01)
        service.start()
        try:
            assert eventually(lambda: service.status()["errors_total"] >= 1)
            status = service.status()
            assert "Nowhere/Land" in (status["last_error"] or "")
            assert status["position"] == 0  # the batch was rolled back whole, not skipped
            assert status["running"] is True
        finally:
            service.stop()


_WORKER = """
import sys
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore
from projections.worker import run_worker
config = DatabaseConfig.parse(sys.argv[1])
run_worker(create_sql_engine(config), EventStore(config, create_table=False), poll_seconds=0.01)
"""


def test_the_worker_process_follows_and_stops_on_sigterm(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        head = writer.opened("W-1", T0)
        ensure_schema(engine)
        service = ProjectionService(engine, store)
        worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER, database_url],
            env=os.environ | {"PYTHONPATH": os.getcwd()},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert wait_for(service, head, 30)
            later = writer.opened("W-2", T0)
            assert wait_for(service, later, 10)  # it keeps following
        finally:
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        assert f"stopped at position {later}" in err
