"""Properties of suspension over random histories and random suspensions.

A suspension takes a stretch's business time away from what a clock would
have counted, and nothing else: elapsed + suspended equals the elapsed time
without it (where no pause hides time anyway), the ledger's suspended
segments hold exactly ``suspended_seconds``, no breach falls inside a
suspension, and ``evaluate_figures`` still equals ``evaluate``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_time import from_us, to_us
from domain.clock_model import ContractContext, SegmentKind, TicketState
from domain.clocks import evaluate, evaluate_figures, occurrence_of
from domain.policy import parse_policy
from domain.versions import Version
from tests.unit.builders import (
    PROPERTY_CALENDARS,
    PROPERTY_POLICY_DOC,
    RECORDING_START,
    Ticket,
    contexts,
    histories,
)
from tests.unit.test_clock_figures import assert_same_clock

PLAN = Version(1, None, RECORDING_START, parse_policy(PROPERTY_POLICY_DOC))
SETTINGS = settings(max_examples=200, deadline=None)
LATER = st.integers(0, 8 * 1440 * 60)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Ticket, ContractContext, datetime]:
    ticket = draw(histories())
    opened = ticket.events[0].occurred_at
    context = draw(contexts(opened))
    return ticket, context, opened + timedelta(seconds=draw(LATER))


def run(ticket: Ticket, at: datetime, contract: ContractContext | None) -> TicketState:
    return evaluate(
        ticket.ticket_id, ticket.events, PLAN, PROPERTY_CALENDARS, at, contract=contract
    )


@SETTINGS
@given(cases())
def test_figures_equal_the_evaluated_state_with_suspensions(
    case: tuple[Ticket, ContractContext, datetime],
) -> None:
    ticket, context, at = case
    occurrences = [occurrence_of(event) for event in ticket.events]
    figures = evaluate_figures(
        ticket.ticket_id, occurrences, PLAN, PROPERTY_CALENDARS, to_us(at), contract=context
    )
    state = run(ticket, at, context)
    assert figures.status is state.status
    assert len(figures.clocks) == len(state.clocks)
    for clock_figures, clock in zip(figures.clocks, state.clocks, strict=True):
        assert_same_clock(clock_figures, clock)
        assert clock_figures.suspended_seconds == clock.suspended_seconds
        held = any(s.kind is SegmentKind.SUSPENDED for s in clock.segments)
        if held or clock.suspended_seconds:
            assert clock_figures.suspended


@SETTINGS
@given(cases())
def test_suspended_plus_elapsed_is_the_elapsed_time_without_suspension(
    case: tuple[Ticket, ContractContext, datetime],
) -> None:
    ticket, context, at = case
    ticket.events = [e for e in ticket.events if e.type.value != "awaiting_customer"]
    held = run(ticket, at, context)
    free = run(ticket, at, replace(context, suspensions=()))
    for clock in held.clocks:
        without = free.clock(clock.metric)
        assert without is not None
        assert clock.elapsed_seconds + clock.suspended_seconds == without.elapsed_seconds


@SETTINGS
@given(cases())
def test_suspended_segments_hold_the_suspended_seconds(
    case: tuple[Ticket, ContractContext, datetime],
) -> None:
    ticket, context, at = case
    for clock in run(ticket, at, context).clocks:
        assert sum(s.seconds for s in clock.segments) == clock.elapsed_seconds
        held = sum(
            PROPERTY_CALENDARS(s.calendar).business_us(to_us(s.start), to_us(s.end))
            if s.calendar != "24x7"
            else to_us(s.end) - to_us(s.start)
            for s in clock.segments
            if s.kind is SegmentKind.SUSPENDED
        )
        assert held // 1_000_000 == clock.suspended_seconds


@SETTINGS
@given(cases())
def test_no_breach_falls_inside_a_suspension(
    case: tuple[Ticket, ContractContext, datetime],
) -> None:
    ticket, context, at = case
    for clock in run(ticket, at, context).clocks:
        if clock.breached_at is None:
            continue
        breached = to_us(clock.breached_at)
        for start, end, _, _ in context.suspensions:
            assert not (start <= breached and (end is None or breached < end))


@SETTINGS
@given(cases())
def test_only_the_overlap_with_the_tickets_life_matters(
    case: tuple[Ticket, ContractContext, datetime],
) -> None:
    ticket, context, at = case
    opened = to_us(ticket.events[0].occurred_at)
    overlapping = tuple(
        s
        for s in context.suspensions
        if s.start_us <= to_us(at) and (s.end_us is None or s.end_us > opened)
    )
    assert run(ticket, at, context) == run(ticket, at, replace(context, suspensions=overlapping))
    assert from_us(opened) == ticket.events[0].occurred_at
