"""The writer against real SQLite and PostgreSQL: caches that are cold or stale, crashes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from domain.errors import Conflict, NotFound
from service.application import EventInput
from service.ingest import Receipt
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.api.fixtures import DUBLIN, standard_policy

AT = datetime(2026, 3, 16, 16, 30, tzinfo=UTC)


@pytest.fixture
def runtimes(database_url: str) -> Iterator[tuple[Runtime, Runtime]]:
    settings = Settings(database_url=database_url)
    first = build_runtime(settings, with_projections=False)
    second = build_runtime(settings, with_projections=False)
    try:
        asyncio.run(first.service.define_version("calendar", "cal", DUBLIN, None))
        asyncio.run(first.service.define_version("policy", "plan", standard_policy("cal"), None))
        yield first, second
    finally:
        first.close()
        second.close()


def record(runtime: Runtime, ticket: str, event_id: str, kind: str, **data: str) -> object:
    item = EventInput(ticket, event_id, kind, AT, dict(data))
    return asyncio.run(runtime.service.record_event(item))


def test_a_retry_reaching_a_process_that_never_saw_the_ticket_gets_the_first_answer(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    first, second = runtimes
    original = record(first, "T1", "o", "opened", plan="plan")
    again = record(second, "T1", "o", "opened", plan="plan")
    assert isinstance(original, Receipt)
    assert again == original._replace(created=False)
    with pytest.raises(Conflict):
        record(second, "T1", "o2", "opened", plan="plan")
    with pytest.raises(Conflict):
        record(second, "T1", "o", "opened", plan="plan", priority="high")


def test_a_stale_head_is_refreshed_instead_of_overwriting(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    first, second = runtimes
    record(first, "T2", "o", "opened", plan="plan")
    record(second, "T2", "a", "responded")  # second now caches T2 at version 2
    record(first, "T2", "b", "relieved")  # first's head is at 1: its write of 2 conflicts
    versions = [r.event.originator_version for r in first.service.history("T2")]
    assert versions == [1, 2, 3]
    third = record(second, "T2", "c", "resolved")  # second's head is stale too
    assert third.version == 4  # type: ignore[attr-defined]


def test_unknown_ticket_in_a_cold_cache_is_404(runtimes: tuple[Runtime, Runtime]) -> None:
    _, second = runtimes
    with pytest.raises(NotFound):
        record(second, "never", "x", "responded")


def test_a_group_with_a_mistaken_assumption_still_answers_every_item(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    first, second = runtimes
    record(first, "T3", "o", "opened", plan="plan")
    items = [EventInput(f"N{i}", "o", "opened", AT, {"plan": "plan"}) for i in range(5)]
    items.insert(2, EventInput("T3", "o", "opened", AT, {"plan": "plan"}))
    results = asyncio.run(second.service.record_batch(items))
    assert [getattr(r, "created", None) for r in results] == [True, True, False, True, True, True]


def test_after_a_retry_storm_groups_read_first_and_still_answer_as_the_first_time(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    first, second = runtimes
    stored = [EventInput(f"S{i}", "o", "opened", AT, {"plan": "plan"}) for i in range(4)]
    originals = asyncio.run(first.service.record_batch(stored))
    # The second process never saw these tickets: its first group takes them for new.
    assert asyncio.run(second.service.record_batch(stored)) == [
        r._replace(created=False)  # type: ignore[union-attr]
        for r in originals
    ]
    # Now it reads first: retries, a new ticket and a late event, in one group.
    mixed = [*stored, EventInput("S-new", "o", "opened", AT, {"plan": "plan"})]
    mixed.append(EventInput("S0", "r", "responded", AT, {}))
    answers = asyncio.run(second.service.record_batch(mixed))
    assert [getattr(a, "created", None) for a in answers] == [False] * 4 + [True, True]
    assert answers[:4] == [r._replace(created=False) for r in originals]  # type: ignore[union-attr]
    # A group of new tickets only, and it is back to taking them for new.
    fresh = [EventInput(f"F{i}", "o", "opened", AT, {"plan": "plan"}) for i in range(3)]
    assert all(a.created for a in asyncio.run(second.service.record_batch(fresh)))  # type: ignore[union-attr]
    versions = [r.event.originator_version for r in first.service.history("S0")]
    assert versions == [1, 2]
