"""A clock's ledger: segments from the opening to ``at``, their kinds, seconds, calendars
and the events that began them."""

from __future__ import annotations

from dataclasses import replace

from domain.clock_model import Segment, SegmentKind
from tests.unit.builders import HOUR, Ticket, clock_of, policy, state_of, utc

RUN, OUT = SegmentKind.RUNNING, SegmentKind.OUTSIDE_HOURS
PAUSED, STOPPED = SegmentKind.PAUSED, SegmentKind.STOPPED


def seg(
    start: str, end: str, kind: SegmentKind, seconds: int, event_id: str, calendar: str = "office"
) -> Segment:
    return Segment(utc(start), utc(end), kind, seconds, calendar, event_id)


def test_segments_alternate_running_and_outside_hours_and_follow_pauses() -> None:
    ticket = (
        Ticket()
        .opened("2026-03-06T16:00:00Z")  # Friday
        .then("awaiting_customer", "2026-03-09T10:00:00Z")
        .then("customer_replied", "2026-03-09T11:00:00Z")
    )
    state = state_of(ticket, "2026-03-09T12:00:00Z")
    relief, response = state.clock("relief"), state.clock("response")
    assert relief is not None
    assert response is not None
    assert relief.segments == (
        seg("2026-03-06T16:00:00Z", "2026-03-06T17:00:00Z", RUN, HOUR, "e1"),
        seg("2026-03-06T17:00:00Z", "2026-03-09T09:00:00Z", OUT, 0, "e1"),
        seg("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z", RUN, HOUR, "e1"),
        seg("2026-03-09T10:00:00Z", "2026-03-09T11:00:00Z", PAUSED, 0, "e2"),
        seg("2026-03-09T11:00:00Z", "2026-03-09T12:00:00Z", RUN, HOUR, "e3"),
    )
    # response does not pause: one running stretch begun by the opening
    assert response.segments == (
        seg("2026-03-06T16:00:00Z", "2026-03-06T17:00:00Z", RUN, HOUR, "e1"),
        seg("2026-03-06T17:00:00Z", "2026-03-09T09:00:00Z", OUT, 0, "e1"),
        seg("2026-03-09T09:00:00Z", "2026-03-09T12:00:00Z", RUN, 3 * HOUR, "e1"),
    )


def test_stopped_segment_runs_from_the_stop_to_at() -> None:
    ticket = Ticket().opened("2026-03-02T09:00:00Z").then("responded", "2026-03-02T10:00:00Z")
    response = clock_of(ticket, "2026-03-02T18:00:00Z")
    assert response.segments == (
        seg("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", RUN, HOUR, "e1"),
        seg("2026-03-02T10:00:00Z", "2026-03-02T18:00:00Z", STOPPED, 0, "e2"),
    )


def test_a_paused_stretch_is_one_segment_even_outside_hours() -> None:
    ticket = (
        Ticket().opened("2026-03-06T16:00:00Z").then("awaiting_customer", "2026-03-06T16:30:00Z")
    )
    relief = clock_of(ticket, "2026-03-09T10:00:00Z", "relief")
    assert relief.segments[-1] == seg(
        "2026-03-06T16:30:00Z", "2026-03-09T10:00:00Z", PAUSED, 0, "e2"
    )


def test_segments_split_at_a_priority_change_and_switch_calendar_at_an_override() -> None:
    plan = policy(calendar_overrides={"P1": "24x7"})
    ticket = Ticket().opened("2026-03-06T16:00:00Z").priority("P1", "2026-03-07T10:00:00Z")
    relief = clock_of(ticket, "2026-03-07T12:00:00Z", "relief", plan=plan)
    assert relief.segments == (
        seg("2026-03-06T16:00:00Z", "2026-03-06T17:00:00Z", RUN, HOUR, "e1"),
        seg("2026-03-06T17:00:00Z", "2026-03-07T10:00:00Z", OUT, 0, "e1"),
        seg("2026-03-07T10:00:00Z", "2026-03-07T12:00:00Z", RUN, 2 * HOUR, "e2", "24x7"),
    )


def test_segments_split_at_a_priority_change_on_the_same_calendar() -> None:
    ticket = Ticket().opened("2026-03-02T09:00:00Z").priority("P2", "2026-03-02T10:00:00Z")
    response = clock_of(ticket, "2026-03-02T11:00:00Z")
    assert [(s.kind, s.seconds, s.event_id) for s in response.segments] == [
        (RUN, HOUR, "e1"),
        (RUN, HOUR, "e2"),
    ]


def test_zero_length_stretches_are_left_out() -> None:
    ticket = (
        Ticket()
        .opened("2026-03-02T09:00:00Z")
        .then("awaiting_customer", "2026-03-02T10:00:00Z")
        .then("customer_replied", "2026-03-02T10:00:00Z")
    )
    relief = clock_of(ticket, "2026-03-02T11:00:00Z", "relief")
    assert [(s.kind, s.event_id) for s in relief.segments] == [(RUN, "e1"), (RUN, "e3")]
    assert (
        state_of(Ticket().opened("2026-03-02T09:00:00Z"), "2026-03-02T09:00:00Z").clocks[0].segments
        == ()
    )


def test_segment_seconds_add_up_to_elapsed_despite_sub_second_stretches() -> None:
    ticket = (
        Ticket()
        .opened("2026-03-02T09:00:00.600Z")
        .then("awaiting_customer", "2026-03-02T09:00:01.500Z")
        .then("customer_replied", "2026-03-02T09:00:02Z")
    )
    relief = clock_of(ticket, "2026-03-02T09:00:03.300Z", "relief")
    assert relief.elapsed_seconds == 2  # 0.9 s + 1.3 s
    assert [s.seconds for s in relief.segments] == [0, 0, 2]
    assert sum(s.seconds for s in relief.segments) == relief.elapsed_seconds


def test_without_segments_everything_else_is_the_same() -> None:
    ticket = (
        Ticket()
        .opened("2026-03-06T16:00:00Z")
        .then("awaiting_customer", "2026-03-09T10:00:00Z")
        .priority("P1", "2026-03-09T10:30:00Z")
        .then("customer_replied", "2026-03-09T11:00:00Z")
        .then("responded", "2026-03-09T11:30:00Z")
    )
    full = state_of(ticket, "2026-03-09T12:00:00Z")
    bare = state_of(ticket, "2026-03-09T12:00:00Z", with_segments=False)
    assert all(c.segments == () for c in bare.clocks)
    assert all(c.segments for c in full.clocks)
    assert bare == replace(full, clocks=tuple(replace(c, segments=()) for c in full.clocks))
