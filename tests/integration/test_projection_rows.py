"""A projection's rows against the domain's own answer, for random ticket histories.

The rows come from facts (epoch microseconds, ``evaluate_figures``); the answer
comes from the events as the service holds them (datetimes, ``evaluate``). Live
following and rebuilds both make their rows this way, so comparing them with
each other could not catch a slip in turning facts into rows; this does.
"""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import given, settings

from domain.business_time import to_us
from domain.clock_model import Clock, ClockState, Outcome
from domain.clocks import evaluate
from projections.catalog import CatalogRow, ProjectionCatalog
from projections.facts import to_fact
from projections.rows import evaluate_ticket
from tests.unit.builders import (
    LUNCH_OFFICE,
    PROPERTY_POLICY_DOC,
    RECORDING_START,
    Ticket,
    histories,
)


def _catalog() -> ProjectionCatalog:
    catalog = ProjectionCatalog()
    for key, document, is_policy in (
        ("office", LUNCH_OFFICE, False),
        ("plan", PROPERTY_POLICY_DOC, True),
    ):
        row = CatalogRow(key, 1, None, to_us(RECORDING_START), 1, json.dumps(document))
        catalog.add(row, is_policy=is_policy)
    return catalog


CATALOG = _catalog()


def _us(instant: datetime | None) -> int | None:
    return None if instant is None else to_us(instant)


def _expected_clock_row(clock: Clock) -> dict[str, object]:
    running = clock.state is ClockState.RUNNING and clock.outcome is Outcome.PENDING
    breached = _us(clock.breached_at) if clock.outcome is Outcome.BREACHED else None
    return {
        "metric": clock.metric,
        "calendar": clock.calendar,
        "state": clock.state.value,
        "outcome": clock.outcome.value,
        "target_seconds": clock.target_seconds,
        "elapsed_seconds": clock.elapsed_seconds,
        "started_at_us": _us(clock.started_at),
        "due_at_us": _us(clock.due_at),
        "warn_at_us": _us(clock.warn_at),
        "stopped_at_us": _us(clock.stopped_at),
        "breached_at_us": breached,
        "running_due_us": _us(clock.due_at) if running else None,
        "breach_from_us": breached
        if breached is not None
        else _us(clock.due_at)
        if running
        else None,
    }


@settings(max_examples=200, deadline=None)
@given(histories(max_events=10))
def test_rows_from_facts_are_the_evaluated_state(ticket: Ticket) -> None:
    facts = [to_fact(event) for event in ticket.events]
    rows = evaluate_ticket(ticket.ticket_id, facts, 42, CATALOG)
    assert rows is not None
    at = max(event.occurred_at for event in ticket.events)
    opened_at = ticket.events[0].occurred_at
    policy = CATALOG.policy_for("plan", opened_at)
    assert policy is not None
    state = evaluate(ticket.ticket_id, ticket.events, policy, CATALOG.timeline, at)
    assert {k: rows.ticket[k] for k in ("priority", "customer", "kind", "status")} == {
        "priority": state.priority,
        "customer": state.customer,
        "kind": state.kind,
        "status": state.status.value,
    }
    assert (rows.ticket["opened_at_us"], rows.ticket["last_event_at_us"]) == (
        to_us(state.opened_at),
        to_us(at),
    )
    assert (rows.ticket["event_count"], rows.ticket["last_position"]) == (len(facts), 42)
    assert len(rows.clocks) == len(state.clocks)
    for row, clock in zip(rows.clocks, state.clocks, strict=True):
        assert {k: row[k] for k in _expected_clock_row(clock)} == _expected_clock_row(clock)
        assert (row["ticket_id"], row["plan"], row["priority"], row["status"]) == (
            ticket.ticket_id,
            "plan",
            state.priority,
            state.status.value,
        )
        assert (row["opened_at_us"], row["evaluated_at_us"]) == (
            to_us(state.opened_at),
            to_us(at),
        )
    if any(clock.state is not ClockState.STOPPED for clock in state.clocks):
        assert rows.ticket["settled_at_us"] is None
    else:
        assert rows.ticket["settled_at_us"] is not None
        assert rows.ticket["settled_at_us"] >= max(
            [to_us(state.opened_at)] + [_us(c.stopped_at) or 0 for c in state.clocks]
        )
