"""Writes wait for the in-process projections once they lag by more than the bound.

The runner here polls only every 30 s and is woken by a commit only for a waiting
reader, so without the gate it leaves a write unprojected for the whole test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from service.application import EventInput
from service.ingest import Receipt
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.api.fixtures import DUBLIN, standard_policy

AT = datetime(2026, 3, 16, 16, 30, tzinfo=UTC)
MAX_LAG = 0.2


@contextmanager
def serving(database_url: str, max_lag: float) -> Iterator[Runtime]:
    settings = Settings(
        database_url=database_url,
        projections_child_process=False,
        projection_poll_seconds=30.0,
        ingest_max_lag_seconds=max_lag,
    )
    runtime = build_runtime(settings, with_projections=True)
    try:
        _until_idle(runtime)
        yield runtime
    finally:
        runtime.close()


def _until_idle(runtime: Runtime) -> None:
    """Until the runner holds the worker lock and has made its first (empty) step: it
    then sleeps for its 30 s poll, so the writes below are not projected by chance."""
    assert runtime.projections is not None
    deadline = time.monotonic() + 10
    while runtime.projections.local_position() is None:
        assert time.monotonic() < deadline, "the runner never became active"
        time.sleep(0.01)
    time.sleep(0.3)


async def write_then_write_later(runtime: Runtime) -> tuple[Receipt, int, int]:
    """Open T1, let it age past the bound, open T2: T1's position, and the projections'
    before and after T2's write."""
    service = runtime.service
    assert runtime.projections is not None
    await service.define_version("calendar", "cal", DUBLIN, None)
    await service.define_version("policy", "plan", standard_policy("cal"), None)
    first = await service.record_event(EventInput("T1", "o", "opened", AT, {"plan": "plan"}))
    assert isinstance(first, Receipt)
    await asyncio.sleep(MAX_LAG * 2)
    before = runtime.projections.position()
    await service.record_event(EventInput("T2", "o", "opened", AT, {"plan": "plan"}))
    return first, before, runtime.projections.position()


def test_a_write_waits_until_older_writes_are_projected(database_url: str) -> None:
    with serving(database_url, MAX_LAG) as runtime:
        first, before, after = asyncio.run(write_then_write_later(runtime))
        assert runtime.lag_gate is not None
        assert runtime.lag_gate.waits == 1
    assert before < first.position <= after


def test_without_the_gate_the_same_write_does_not_wait(database_url: str) -> None:
    """The control: the scene above leaves T1 unprojected when nothing holds T2."""
    with serving(database_url, 0) as runtime:
        first, before, after = asyncio.run(write_then_write_later(runtime))
        assert runtime.lag_gate is None
    assert before < first.position
    assert after < first.position


def test_no_gate_when_the_projections_follow_elsewhere(database_url: str) -> None:
    runtime = build_runtime(Settings(database_url=database_url), with_projections=False)
    try:
        assert runtime.lag_gate is None
    finally:
        runtime.close()
