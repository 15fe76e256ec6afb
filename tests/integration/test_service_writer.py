"""Service events through the writer on real SQLite and PostgreSQL: groups, retries, stale heads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from domain.errors import Conflict
from service.outage_ingest import ServiceReceipt
from service.runtime import Runtime, build_runtime
from service.service_events import ServiceEventInput, ServiceEvents, to_service_command
from service.settings import Settings


@pytest.fixture
def runtimes(database_url: str) -> Iterator[tuple[Runtime, Runtime]]:
    settings = Settings(database_url=database_url)
    first = build_runtime(settings, with_projections=False)
    second = build_runtime(settings, with_projections=False)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def item(event_id: str, kind: str, hour: int) -> ServiceEventInput:
    at = datetime(2026, 3, 7, hour, tzinfo=UTC)
    return ServiceEventInput("iam", event_id, f"outage_{kind}", at, {})


def record(runtime: Runtime, event_id: str, kind: str, hour: int) -> ServiceReceipt:
    return asyncio.run(
        ServiceEvents(runtime.store, runtime.writer).record(item(event_id, kind, hour))
    )


def test_a_retry_in_the_same_group_gets_the_first_answer(runtimes: tuple[Runtime, Runtime]) -> None:
    first, _ = runtimes
    command = to_service_command(item("s", "started", 10))
    answers = asyncio.run(first.writer.submit([command, command]))
    original, again = answers
    assert isinstance(original, ServiceReceipt)
    assert again == original._replace(created=False)


def test_a_process_with_a_stale_head_judges_against_the_store(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    first, second = runtimes
    record(second, "s1", "started", 10)  # second caches the service: an outage is open
    record(first, "e1", "ended", 11)  # first ends it
    # Second's cached head still says open at 12:00; the store says otherwise.
    assert record(second, "s2", "started", 12).version == 3
    with pytest.raises(Conflict):
        record(first, "s3", "started", 13)  # first's head is stale too, and s2 is open
    # A retry of an event the other process recorded gets its first answer.
    assert record(first, "s2", "started", 12).created is False


def test_a_start_assumed_new_is_judged_again_when_the_service_exists(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url)
    first = build_runtime(settings, with_projections=False)
    try:
        stored = record(first, "s1", "started", 10)
    finally:
        first.close()
    # Fresh processes know nothing of "iam": each start is first assumed new, the
    # store's key refuses version 1, and the writer decides again from the store.
    for expected in ("retry", "conflict"):
        fresh = build_runtime(settings, with_projections=False)
        try:
            if expected == "retry":
                assert record(fresh, "s1", "started", 10) == stored._replace(created=False)
            else:
                with pytest.raises(Conflict):
                    record(fresh, "s2", "started", 12)  # s1's outage is still open
        finally:
            fresh.close()
