"""Properties of the evaluator over random histories (late events, ties, DST, Easter)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.clock_model import Clock, ClockState, Outcome, SegmentKind, TicketState
from domain.clocks import evaluate
from domain.policy import parse_policy
from domain.versions import Version
from tests.unit.builders import (
    PROPERTY_CALENDARS,
    PROPERTY_POLICY_DOC,
    RECORDING_START,
    Ticket,
    histories,
    make_event,
)

PLAN = Version(1, None, RECORDING_START, parse_policy(PROPERTY_POLICY_DOC))
SETTINGS = settings(max_examples=200, deadline=None)
# How far past the opening an evaluation may fall: beyond the last event too.
LATER = st.integers(0, 8 * 1440 * 60)


def run(ticket: Ticket, at: datetime, with_segments: bool = True) -> TicketState:
    return evaluate(
        ticket.ticket_id, ticket.events, PLAN, PROPERTY_CALENDARS, at, with_segments=with_segments
    )


def opened_at(ticket: Ticket) -> datetime:
    return ticket.events[0].occurred_at


def reordered(ticket: Ticket, order: list[int]) -> Ticket:
    """The same events recorded in another order: versions follow the new order."""
    copy = Ticket(ticket.ticket_id)
    for version, index in enumerate(order, start=1):
        event = ticket.events[index]
        copy.events.append(
            make_event(
                ticket.ticket_id,
                version,
                event.type.value,
                event.occurred_at,
                event.data,
                event.event_id,
            )
        )
    return copy


@SETTINGS
@given(histories(), LATER)
def test_replay_is_deterministic(ticket: Ticket, seconds: int) -> None:
    at = opened_at(ticket) + timedelta(seconds=seconds)
    assert run(ticket, at) == run(ticket, at)


@SETTINGS
@given(histories(distinct=True), LATER, st.randoms(use_true_random=False))
def test_recorded_order_does_not_matter_when_instants_are_distinct(
    ticket: Ticket, seconds: int, shuffler: Random
) -> None:
    order = list(range(len(ticket.events)))
    shuffler.shuffle(order)
    at = opened_at(ticket) + timedelta(seconds=seconds)
    assert run(reordered(ticket, order), at) == run(ticket, at)


@SETTINGS
@given(histories(), st.data())
def test_as_of_an_event_equals_knowing_only_the_events_up_to_it(
    ticket: Ticket, data: st.DataObject
) -> None:
    at = data.draw(st.sampled_from([e.occurred_at for e in ticket.events]))
    known = Ticket(ticket.ticket_id)
    known.events = [e for e in ticket.events if e.occurred_at <= at]
    assert run(known, at) == run(ticket, at)


@SETTINGS
@given(histories(), LATER, LATER)
def test_elapsed_never_decreases_and_a_breach_never_heals(
    ticket: Ticket, first: int, second: int
) -> None:
    early_at = opened_at(ticket) + timedelta(seconds=min(first, second))
    late_at = opened_at(ticket) + timedelta(seconds=max(first, second))
    early, late = run(ticket, early_at), run(ticket, late_at)
    for clock in early.clocks:
        later = late.clock(clock.metric)
        assert later is not None, "a clock never disappears"
        assert later.elapsed_seconds >= clock.elapsed_seconds
        if clock.outcome is Outcome.BREACHED:
            assert later.outcome is Outcome.BREACHED
            assert later.breached_at == clock.breached_at


@SETTINGS
@given(histories(), LATER)
def test_segments_cover_the_clock_and_add_up_to_elapsed(ticket: Ticket, seconds: int) -> None:
    at = opened_at(ticket) + timedelta(seconds=seconds)
    for clock in run(ticket, at).clocks:
        assert sum(s.seconds for s in clock.segments) == clock.elapsed_seconds
        check_ledger_shape(clock, opened_at(ticket), at)


def check_ledger_shape(clock: Clock, opened: datetime, at: datetime) -> None:
    segments = clock.segments
    if at == opened:
        assert segments == ()
        return
    assert segments[0].start == opened
    assert segments[-1].end == at
    for before, after in pairwise(segments):
        assert before.end == after.start
    for segment in segments:
        assert segment.start < segment.end
        assert segment.seconds >= 0
        if segment.kind is not SegmentKind.RUNNING:
            assert segment.seconds == 0
    last = segments[-1].kind
    expected = {
        ClockState.PAUSED: {SegmentKind.PAUSED},
        ClockState.STOPPED: {SegmentKind.STOPPED},
        ClockState.RUNNING: {SegmentKind.RUNNING, SegmentKind.OUTSIDE_HOURS},
    }
    assert last in expected[clock.state]


@SETTINGS
@given(histories(), LATER)
def test_skipping_segments_changes_nothing_else(ticket: Ticket, seconds: int) -> None:
    at = opened_at(ticket) + timedelta(seconds=seconds)
    full = run(ticket, at)
    bare = run(ticket, at, with_segments=False)
    assert bare == replace(full, clocks=tuple(replace(c, segments=()) for c in full.clocks))


@SETTINGS
@given(histories(), LATER)
def test_clock_fields_agree_with_each_other(ticket: Ticket, seconds: int) -> None:
    at = opened_at(ticket) + timedelta(seconds=seconds)
    for clock in run(ticket, at).clocks:
        assert clock.remaining_seconds == clock.target_seconds - clock.elapsed_seconds
        assert (clock.stopped_at is not None) == (clock.state is ClockState.STOPPED)
        assert (clock.due_at is not None) == (clock.state is ClockState.RUNNING)
        assert (clock.breached_at is not None) == (clock.outcome is Outcome.BREACHED)
        if clock.state is not ClockState.STOPPED:
            assert clock.outcome is not Outcome.MET
        if clock.at_risk:
            assert clock.state is ClockState.RUNNING
            assert clock.outcome is Outcome.PENDING
        if clock.state is ClockState.RUNNING and clock.outcome is Outcome.PENDING:
            assert clock.due_at is not None
            assert clock.due_at >= at
        if clock.breached_at is not None:
            assert clock.breached_at <= at
        if clock.elapsed_seconds > clock.target_seconds:
            assert clock.outcome is Outcome.BREACHED
