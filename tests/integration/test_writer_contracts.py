"""Contract commands in the writer, with two processes sharing one database (stale caches)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.contract_events import directory_uuid
from domain.errors import ValidationFailed
from service.application import EventInput
from service.contract_ingest import ContractReceipt
from service.contracts import ContractInput
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from tests.api.fixtures import DUBLIN, standard_policy

AT = datetime(2026, 3, 16, 16, 30, tzinfo=UTC)
TERM = {"start": "2026-01-01", "months": 12, "timezone": "UTC"}


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


def start(runtime: Runtime, contract: str, customer: str) -> ContractReceipt:
    data = {"customer": customer, "plan": "plan", "term": TERM}
    item = ContractInput(contract, "s", "contract_started", datetime(2026, 1, 1, tzinfo=UTC), data)
    return asyncio.run(runtime.service.contracts.record(item))


def open_by_customer(runtime: Runtime, ticket: str, customer: str) -> Any:
    item = EventInput(ticket, "o", "opened", AT, {"customer": customer})
    return asyncio.run(runtime.service.record_event(item))


def test_a_contract_started_by_another_process_binds_tickets_here(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    first, second = runtimes
    with pytest.raises(ValidationFailed, match="no contract in effect"):
        open_by_customer(second, "T1", "acme")  # second now knows acme has no contract
    start(first, "C1", "acme")
    open_by_customer(second, "T1", "acme")
    opened = second.service.history("T1")[0].event
    assert opened.data["contract"] == "C1"  # type: ignore[attr-defined]


def test_the_directory_stays_whole_when_processes_take_turns(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    first, second = runtimes
    start(first, "C1", "a")
    start(second, "C2", "b")
    start(first, "C3", "c")  # first's directory count is stale: the write is decided again
    listed = first.store.aggregate_events(directory_uuid())
    assert [r.event.contract_id for r in listed] == ["C1", "C2", "C3"]  # type: ignore[attr-defined]
    retry = start(second, "C3", "c")
    assert not retry.created
