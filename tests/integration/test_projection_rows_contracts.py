"""Rows of tickets bound to a contract, from facts, against the domain's own evaluation.

Random histories and random suspensions (and a region calendar): the rows
``evaluate_ticket`` makes must equal ``evaluate`` of the events with the
contract's context, at the instant the rows say they were evaluated at: the
latest event, or the contract's last suspension boundary when that is later
and a clock is still going.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_time import from_us, to_us
from domain.clock_model import ClockState, ContractContext, SuspensionUs
from domain.clocks import evaluate
from domain.contract_events import ContractEventType
from domain.contract_timeline import ContractOccurrence
from projections.catalog import CatalogRow, ContractRow, ProjectionCatalog
from projections.facts import to_fact
from projections.rows import evaluate_ticket
from tests.integration.test_projection_rows import _expected_clock_row
from tests.unit.builders import (
    LUNCH_OFFICE,
    PROPERTY_POLICY_DOC,
    RECORDING_START,
    REGION,
    Ticket,
    contexts,
    histories,
)


def _catalog(context: ContractContext) -> ProjectionCatalog:
    catalog = ProjectionCatalog()
    for key, document, is_policy in (
        ("office", LUNCH_OFFICE, False),
        ("region", REGION, False),
        ("plan", PROPERTY_POLICY_DOC, True),
    ):
        row = CatalogRow(key, 1, None, to_us(RECORDING_START), 1, json.dumps(document))
        catalog.add(row, is_policy=is_policy)
    for occurrence in _occurrences(context):
        catalog.add_contract(ContractRow("C-1", occurrence.version, occurrence.version, occurrence))
    return catalog


def _occurrences(context: ContractContext) -> list[ContractOccurrence]:
    started = ContractOccurrence(
        ContractEventType.STARTED, 0, 1, "c1", context.calendar, context.calendar is not None
    )
    found = [started]
    suspended, reinstated = ContractEventType.SLA_SUSPENDED, ContractEventType.SLA_REINSTATED
    for start, end, suspended_by, reinstated_by in context.suspensions:
        found.append(
            ContractOccurrence(suspended, start, len(found) + 1, suspended_by, None, False)
        )
        if end is not None:
            event_id = str(reinstated_by)
            found.append(ContractOccurrence(reinstated, end, len(found) + 1, event_id, None, False))
    return found


@st.composite
def bound(draw: st.DrawFn) -> tuple[Ticket, ContractContext]:
    ticket = draw(histories(max_events=8))
    opened = ticket.events[0]
    ticket.events[0] = type(opened)(
        **{**opened.__dict__, "data": {**opened.data, "contract": "C-1"}}
    )
    return ticket, draw(contexts(ticket.events[0].occurred_at))


@settings(max_examples=150, deadline=None)
@given(bound())
def test_bound_rows_from_facts_are_the_evaluated_state(
    case: tuple[Ticket, ContractContext],
) -> None:
    ticket, context = case
    catalog = _catalog(context)
    facts = [to_fact(event) for event in ticket.events]
    rows = evaluate_ticket(ticket.ticket_id, facts, 7, catalog)
    assert rows is not None
    assert rows.ticket["contract"] == "C-1"
    last_event = max(to_us(event.occurred_at) for event in ticket.events)
    policy = catalog.policy_for("plan", ticket.events[0].occurred_at)
    assert policy is not None
    evaluated = {row["evaluated_at_us"] for row in rows.clocks} or {last_event}
    assert len(evaluated) == 1
    (at_us,) = evaluated
    state = evaluate(
        ticket.ticket_id, ticket.events, policy, catalog.timeline, from_us(at_us), contract=context
    )
    going = any(clock.state is not ClockState.STOPPED for clock in state.clocks)
    last_boundary = _last_boundary(context.suspensions)
    if last_boundary is not None and last_boundary > last_event and going:
        assert at_us == last_boundary
    else:
        assert at_us == last_event
    assert len(rows.clocks) == len(state.clocks)
    for row, clock in zip(rows.clocks, state.clocks, strict=True):
        assert {k: row[k] for k in _expected_clock_row(clock)} == _expected_clock_row(clock)
        assert row["suspended_seconds"] == clock.suspended_seconds


def _last_boundary(suspensions: tuple[SuspensionUs, ...]) -> int | None:
    if not suspensions:
        return None
    last = suspensions[-1]
    return last.start_us if last.end_us is None else last.end_us
