"""WAL checkpoints on SQLite: done by the background thread, not by the writer's commits."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from projections.follower import Follower
from service.application import EventInput
from service.ingest import Receipt
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.storage.checkpointer import WalCheckpointer, state_checkpoints
from tests.api.fixtures import DUBLIN, standard_policy
from tests.support.waiting import eventually

AT = datetime(2026, 3, 16, 16, 30, tzinfo=UTC)
# Well past SQLite's default wal_autocheckpoint of 1,000 pages (4 MB).
EVENTS = 16_000


def open_runtime(database: Path, *, projections: bool = False, child: bool = False) -> Runtime:
    settings = Settings(database_url=f"sqlite:///{database}", projections_child_process=child)
    runtime = build_runtime(settings, with_projections=projections)
    asyncio.run(runtime.service.define_version("calendar", "cal", DUBLIN, None))
    asyncio.run(runtime.service.define_version("policy", "plan", standard_policy("cal"), None))
    return runtime


def ingest(runtime: Runtime, count: int) -> None:
    for start in range(0, count, 1000):
        items = [
            EventInput(f"T{n}", "o", "opened", AT, {"plan": "plan"})
            for n in range(start, start + 1000)
        ]
        results = asyncio.run(runtime.service.record_batch(items))
        assert all(isinstance(r, Receipt) and r.created for r in results)


def test_commits_leave_the_log_to_the_background_checkpoint(tmp_path: Path) -> None:
    database = tmp_path / "slaclock.db"
    wal = Path(f"{database}-wal")
    runtime = open_runtime(database)
    try:
        assert runtime.checkpointer is not None
        runtime.checkpointer.stop()
        size_before = database.stat().st_size
        ingest(runtime, EVENTS)
        # The writer's commits went past the default bound without copying the log back.
        assert wal.stat().st_size > 4 * 1024 * 1024
        assert database.stat().st_size == size_before

        checkpointer = WalCheckpointer(database)
        checkpointer.start()
        checkpointer.nudge(EVENTS)
        try:
            assert eventually(lambda: database.stat().st_size > 4 * 1024 * 1024)
        finally:
            checkpointer.stop()
        assert checkpointer.checkpoints >= 1
        history = runtime.service.history(f"T{EVENTS - 1}")
        assert [r.event.originator_version for r in history] == [1]
    finally:
        runtime.close()


def test_the_running_checkpointer_follows_commits_and_stops_with_the_runtime(
    tmp_path: Path,
) -> None:
    database = tmp_path / "slaclock.db"
    runtime = open_runtime(database)
    try:
        ingest(runtime, 2000)
        checkpointer = runtime.checkpointer
        assert checkpointer is not None
        assert eventually(lambda: checkpointer.checkpoints >= 1)
    finally:
        runtime.close()
    assert not [t for t in threading.enumerate() if t.name == "slaclock-checkpoint"]


def test_postgres_has_no_checkpointer(database_url: str) -> None:
    runtime = build_runtime(Settings(database_url=database_url), with_projections=False)
    try:
        assert (runtime.checkpointer is None) == database_url.startswith("postgresql")
    finally:
        runtime.close()


def test_small_commits_wait_for_enough_events_or_a_quiet_moment(tmp_path: Path) -> None:
    database = tmp_path / "slaclock.db"
    runtime = open_runtime(database)
    runtime.close()
    checkpointer = WalCheckpointer(database, idle_seconds=5, after_events=1000)
    checkpointer.start()
    try:
        checkpointer.nudge(10)
        checkpointer.nudge(400)
        time.sleep(0.3)
        assert checkpointer.checkpoints == 0
        checkpointer.nudge(1500)
        assert eventually(lambda: checkpointer.checkpoints == 1)
    finally:
        checkpointer.stop()
    quiet = WalCheckpointer(database, idle_seconds=0.1, after_events=1000)
    quiet.start()
    try:
        quiet.nudge(5)
        assert eventually(lambda: quiet.checkpoints == 1)
        time.sleep(0.3)
        assert quiet.checkpoints == 1  # nothing new since: no more checkpoints
    finally:
        quiet.stop()


def follow_all(runtime: Runtime, checkpoints: WalCheckpointer | None) -> None:
    follower = Follower(runtime.engine, runtime.store, checkpoints=checkpoints)
    try:
        while follower.step(2000):
            pass
    finally:
        follower.close()


@pytest.fixture
def ingested(tmp_path: Path) -> Iterator[tuple[Runtime, Path]]:
    """A runtime (projections off) with EVENTS new tickets in its log, and its state file."""
    runtime = open_runtime(tmp_path / "slaclock.db")
    state = runtime.config.state_path
    assert state is not None
    try:
        ingest(runtime, EVENTS)
        yield runtime, state
    finally:
        runtime.close()


def test_the_follower_leaves_the_state_files_checkpoints_to_its_thread(
    ingested: tuple[Runtime, Path],
) -> None:
    runtime, state = ingested
    size_before = state.stat().st_size
    checkpointer = WalCheckpointer(state)  # not started: nothing copies the log back
    follow_all(runtime, checkpointer)
    assert Path(f"{state}-wal").stat().st_size > 4 * 1024 * 1024
    assert state.stat().st_size == size_before

    checkpointer.start()
    checkpointer.nudge(EVENTS)
    try:
        assert eventually(lambda: state.stat().st_size > 4 * 1024 * 1024)
    finally:
        checkpointer.stop()
    with runtime.engine.connect() as conn:
        # The connection went back to the pool with SQLite's own bound.
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000


def test_without_a_checkpointer_the_followers_commits_copy_the_log_back(
    ingested: tuple[Runtime, Path],
) -> None:
    runtime, state = ingested
    size_before = state.stat().st_size
    follow_all(runtime, None)
    assert state.stat().st_size > size_before + 4 * 1024 * 1024


def test_a_server_following_in_a_thread_checkpoints_its_state_file(tmp_path: Path) -> None:
    runtime = open_runtime(tmp_path / "slaclock.db", projections=True)
    try:
        checkpointer = runtime.state_checkpointer
        assert checkpointer is not None
        ingest(runtime, 2000)
        assert eventually(lambda: checkpointer.checkpoints >= 1)
    finally:
        runtime.close()
    assert not [t for t in threading.enumerate() if t.name == "slaclock-checkpoint"]


def test_a_server_with_a_projection_child_leaves_the_state_file_to_it(tmp_path: Path) -> None:
    runtime = open_runtime(tmp_path / "slaclock.db", projections=True, child=True)
    try:
        assert runtime.state_checkpointer is None
    finally:
        runtime.close()


def test_state_checkpoints_run_for_the_block_and_stop_with_it(
    ingested: tuple[Runtime, Path],
) -> None:
    runtime, state = ingested

    def checkpoint_threads() -> int:
        return sum(t.name == "slaclock-checkpoint" for t in threading.enumerate())

    before = checkpoint_threads()
    with state_checkpoints(state) as checkpointer:
        assert checkpointer is not None
        assert checkpoint_threads() == before + 1
        follow_all(runtime, checkpointer)
        assert eventually(lambda: state.stat().st_size > 4 * 1024 * 1024)
    assert checkpoint_threads() == before
    with state_checkpoints(None) as nothing:  # PostgreSQL: no state file
        assert nothing is None
