"""What a bound ticket's clocks read of its contract: calendar at the opening, suspensions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.business_time import to_us
from domain.clock_model import ContractContext, SuspensionUs
from domain.contract_events import (
    CONTRACT_CLASS_OF_TYPE,
    ContractEvent,
    ContractEventType,
    contract_uuid,
)
from domain.contract_timeline import ContractTimeline, clock_context, contract_occurrence_of

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def event(version: int, kind: str, hours: float, **data: Any) -> ContractEvent:
    cls = CONTRACT_CLASS_OF_TYPE[ContractEventType(kind)]
    return cls(
        originator_id=contract_uuid("C-1"),
        originator_version=version,
        timestamp=T0 + timedelta(days=30, seconds=version),
        contract_id="C-1",
        event_id=f"c{version}",
        occurred_at=T0 + timedelta(hours=hours),
        data=data,
        fingerprint="f",
    )


EVENTS = [
    event(1, "contract_started", 0, customer="acme", plan="konneqt", calendar="paris"),
    event(2, "sla_suspended", 5, reason="unpaid"),
    event(3, "contract_amended", 3, calendar="berlin"),  # late, lands before the suspension
    event(4, "sla_reinstated", 8),
    event(5, "sla_suspended", 10, reason="again"),
    event(6, "sla_suspended", 11, reason="ignored: already suspended"),
    event(7, "contract_amended", 12, calendar=None),
    event(8, "work_logged", 13, allowance="hours", amount=1),
]


def context(opened_hours: float, events: list[ContractEvent] = EVENTS) -> ContractContext | None:
    occurrences = [contract_occurrence_of(e) for e in events]
    return clock_context("C-1", occurrences, to_us(T0 + timedelta(hours=opened_hours)))


def test_the_suspensions_pair_up_and_the_last_one_lasts() -> None:
    found = context(1)
    assert found is not None
    assert found.suspensions == (
        SuspensionUs(to_us(T0 + timedelta(hours=5)), to_us(T0 + timedelta(hours=8)), "c2", "c4"),
        SuspensionUs(to_us(T0 + timedelta(hours=10)), None, "c5", None),
    )


def test_the_calendar_is_the_contracts_at_the_tickets_opening() -> None:
    assert [getattr(context(h), "calendar", "?") for h in (0, 2.9, 3, 11, 12, 20)] == [
        "paris",
        "paris",
        "berlin",
        "berlin",
        None,
        None,
    ]


def test_a_contract_never_started_gives_no_context() -> None:
    assert context(1, EVENTS[1:]) is None


def test_the_timeline_gives_the_same_context() -> None:
    timeline = ContractTimeline.from_events(EVENTS)
    assert timeline is not None
    for hours in (0, 3, 9, 12.5):
        assert timeline.clock_context(T0 + timedelta(hours=hours)) == context(hours)
