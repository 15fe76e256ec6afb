"""WAL checkpoints on SQLite: done by the background thread, not by the writer's commits."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from service.application import EventInput
from service.ingest import Receipt
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.storage.checkpointer import WalCheckpointer
from tests.api.fixtures import DUBLIN, standard_policy
from tests.support.waiting import eventually

AT = datetime(2026, 3, 16, 16, 30, tzinfo=UTC)
# Well past SQLite's default wal_autocheckpoint of 1,000 pages (4 MB).
EVENTS = 16_000


def open_runtime(database: Path) -> Runtime:
    runtime = build_runtime(Settings(database_url=f"sqlite:///{database}"), with_projections=False)
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
