"""The hand-worked examples of the shared scenarios: every expected field of every ticket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain.clocks import evaluate
from domain.policy import parse_policy
from domain.versions import Version
from tests.unit.builders import RECORDING_START, Ticket, calendars, utc

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "worked-examples.json"


def _load() -> dict[str, Any]:
    if not EXAMPLES.is_file():
        pytest.skip(f"the shared worked examples are not checked out at {EXAMPLES}")
    loaded: dict[str, Any] = json.loads(EXAMPLES.read_text())
    return loaded


def _ticket_ids() -> list[str]:
    if not EXAMPLES.is_file():
        return ["missing"]
    return [t["ticket_id"] for t in json.loads(EXAMPLES.read_text())["tickets"]]


def _wire(value: Any) -> Any:
    """A value as the HTTP contract writes it (instants in UTC with ``Z``)."""
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return value


def test_there_are_six_worked_tickets() -> None:
    assert len(_load()["tickets"]) == 6


@pytest.mark.parametrize("ticket_id", _ticket_ids())
def test_worked_example(ticket_id: str) -> None:
    examples = _load()
    case = next(t for t in examples["tickets"] if t["ticket_id"] == ticket_id)
    lookup = calendars(examples["calendars"])
    plans = {
        plan_id: Version(1, None, RECORDING_START, parse_policy(doc))
        for plan_id, doc in examples["policies"].items()
    }
    ticket = Ticket(ticket_id)
    for event in case["events"]:
        ticket.then(
            event["type"], event["occurred_at"], event_id=event["event_id"], **event["data"]
        )
    plan = plans[case["events"][0]["data"]["plan"]]
    state = evaluate(ticket_id, ticket.events, plan, lookup, utc(case["as_of"]))

    expect = case["expect"]
    got = {key: _wire(getattr(state, key)) for key in expect if key != "clocks"}
    assert got == {key: value for key, value in expect.items() if key != "clocks"}
    assert [c.metric for c in state.clocks] == [c["metric"] for c in expect["clocks"]]
    for clock, wanted in zip(state.clocks, expect["clocks"], strict=True):
        assert {key: _wire(getattr(clock, key)) for key in wanted} == wanted, clock.metric
