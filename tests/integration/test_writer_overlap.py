"""A big group is inserted while the writer decides the next: when the insert fails, the
next group, decided on what the failed one assumed, is decided again (real SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.errors import Conflict
from domain.events import EventType, new_ticket_event, ticket_uuid
from service.application import EventInput
from service.ingest import Receipt
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.storage.writer import OVERLAP_FROM_EVENTS
from tests.api.fixtures import DUBLIN, standard_policy

AT = datetime(2026, 3, 16, 16, 30, tzinfo=UTC)
GROUP = OVERLAP_FROM_EVENTS + 44


def open_runtime(database: Path) -> Runtime:
    settings = Settings(database_url=f"sqlite:///{database}", group_commit_max_events=GROUP)
    runtime = build_runtime(settings, with_projections=False)
    asyncio.run(runtime.service.define_version("calendar", "cal", DUBLIN, None))
    asyncio.run(runtime.service.define_version("policy", "plan", standard_policy("cal"), None))
    return runtime


def opened(ticket_id: str) -> EventInput:
    return EventInput(ticket_id, "o", "opened", AT, {"plan": "plan"})


def hold_write_lock_with_a_rival_opened_event(runtime: Runtime, database: Path) -> Any:
    """Another process's transaction, not yet committed, that opens ticket X first."""
    rival = new_ticket_event(
        EventType.OPENED,
        originator_id=ticket_uuid("X"),
        originator_version=1,
        timestamp=AT,
        ticket_id="X",
        event_id="rival",
        occurred_at=AT,
        data={"plan": "plan", "kind": "incident"},
        fingerprint="rival",
    )
    (stored,) = runtime.store.encode([rival])
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    table = runtime.store.recorder.events_table_name  # type: ignore[attr-defined]
    connection.execute(
        f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?,?,?,?)",
        (stored.originator_id.hex, 1, stored.topic, stored.state),
    )
    return connection


def test_a_group_decided_on_a_failed_insert_is_decided_again(tmp_path: Path) -> None:
    database = tmp_path / "slaclock.db"
    runtime = open_runtime(database)
    answers: dict[str, list[Any]] = {}

    def client(name: str, items: list[EventInput]) -> None:
        answers[name] = asyncio.run(runtime.service.record_batch(items))

    try:
        lock = hold_write_lock_with_a_rival_opened_event(runtime, database)
        big = [opened("X")] + [opened(f"A{n}") for n in range(GROUP - 1)]
        clients = [
            threading.Thread(target=client, args=("first", [opened("Z")])),
            threading.Thread(target=client, args=("big", big)),
            # A retry of big's X: decided as one while big's insert is still running.
            threading.Thread(target=client, args=("retry", [opened("X")])),
        ]
        for thread in clients:
            thread.start()
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while runtime.writer.queued() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        lock.execute("COMMIT")  # the rival wins ticket X; the writer's insert fails
        lock.close()
        for thread in clients:
            thread.join(timeout=30)

        assert runtime.writer.groups_overlapped >= 1
        assert isinstance(answers["first"][0], Receipt)
        assert isinstance(answers["big"][0], Conflict)
        assert all(isinstance(r, Receipt) and r.created for r in answers["big"][1:])
        # Not the answer to a retry of big's X, which was never stored.
        assert isinstance(answers["retry"][0], Conflict)
        history = runtime.service.history("X")
        assert [(r.event.originator_version, r.event.event_id) for r in history] == [(1, "rival")]
    finally:
        runtime.close()
