"""Which events start and stop each metric, outcomes at the stop, reopening, closing, status.

Calendar ``office``: Europe/London, Mon-Fri 09:00-17:00 (London is on UTC until
29 March 2026, so these March instants read as local time). Base policy: P3 by
default; response P1 1h / P2 4h / P3 1 working day (8h); relief P1 4h / P2 8h /
P3 2 working days; resolution P1 2 / P2 5 / P3 10 working days.
"""

from __future__ import annotations

from datetime import datetime

from domain.clock_model import ClockState, Outcome, SegmentKind, TicketStatus
from tests.unit.builders import HOUR, Ticket, clock_of, state_of, utc

MON = "2026-03-02"
TUE = "2026-03-03"
WED = "2026-03-04"


def at(day: str, time: str) -> str:
    return f"{day}T{time}Z"


def when(day: str, time: str) -> datetime:
    return utc(at(day, time))


def test_clocks_start_at_opened() -> None:
    ticket = Ticket().opened(at(MON, "09:30:00"))
    clock = clock_of(ticket, at(MON, "11:00:00"))
    assert clock.started_at == when(MON, "09:30:00")
    assert clock.state is ClockState.RUNNING
    assert clock.outcome is Outcome.PENDING
    assert clock.target_seconds == 8 * HOUR
    assert clock.elapsed_seconds == 5400
    assert clock.remaining_seconds == 8 * HOUR - 5400
    assert clock.due_at == when(TUE, "09:30:00")  # 7.5h on Monday, 0.5h on Tuesday
    assert clock.warn_at == when(MON, "15:30:00")  # 0.75 x 8h = 6h
    assert clock.stopped_at is None
    assert clock.breached_at is None


def test_every_metric_with_a_target_has_a_clock_from_opening() -> None:
    state = state_of(Ticket().opened(at(MON, "09:00:00")), at(MON, "10:00:00"))
    assert [c.metric for c in state.clocks] == ["response", "relief", "resolution"]
    assert all(c.elapsed_seconds == HOUR for c in state.clocks)
    assert [c.target_seconds for c in state.clocks] == [8 * HOUR, 16 * HOUR, 80 * HOUR]


def test_response_stops_at_first_responded() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("responded", at(MON, "10:00:00"))
        .then("responded", at(MON, "11:00:00"))
    )
    state = state_of(ticket, at(MON, "12:00:00"))
    response = state.clock("response")
    assert response is not None
    assert response.state is ClockState.STOPPED
    assert response.outcome is Outcome.MET
    assert response.stopped_at == when(MON, "10:00:00")
    assert response.elapsed_seconds == HOUR
    assert response.remaining_seconds == 7 * HOUR
    assert (response.due_at, response.warn_at, response.at_risk) == (None, None, False)
    # responded stops nothing else
    assert [c.state for c in state.clocks[1:]] == [ClockState.RUNNING] * 2
    assert [c.elapsed_seconds for c in state.clocks[1:]] == [3 * HOUR] * 2


def test_relief_stops_at_first_relieved() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("responded", at(MON, "10:00:00"))
        .then("relieved", at(MON, "11:00:00"))
        .then("relieved", at(MON, "12:00:00"))
    )
    state = state_of(ticket, at(MON, "13:00:00"))
    relief, resolution = state.clock("relief"), state.clock("resolution")
    assert relief is not None
    assert resolution is not None
    assert (relief.state, relief.outcome) == (ClockState.STOPPED, Outcome.MET)
    assert relief.stopped_at == when(MON, "11:00:00")
    assert relief.elapsed_seconds == 2 * HOUR
    assert resolution.state is ClockState.RUNNING


def test_relieved_first_stops_response() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00")).then("relieved", at(MON, "10:30:00"))
    state = state_of(ticket, at(MON, "12:00:00"))
    for metric in ("response", "relief"):
        clock = state.clock(metric)
        assert clock is not None
        assert (clock.state, clock.outcome) == (ClockState.STOPPED, Outcome.MET)
        assert clock.stopped_at == when(MON, "10:30:00")
        assert clock.elapsed_seconds == 5400
    resolution = state.clock("resolution")
    assert resolution is not None
    assert resolution.state is ClockState.RUNNING


def test_resolved_first_stops_response_and_relief() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00")).then("resolved", at(MON, "11:00:00"))
    state = state_of(ticket, at(MON, "12:00:00"))
    assert [c.state for c in state.clocks] == [ClockState.STOPPED] * 3
    assert [c.outcome for c in state.clocks] == [Outcome.MET] * 3
    assert {c.stopped_at for c in state.clocks} == {when(MON, "11:00:00")}
    assert state.status is TicketStatus.RESOLVED


def test_resolution_stops_at_resolved() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("responded", at(MON, "10:00:00"))
        .then("relieved", at(MON, "11:00:00"))
        .then("resolved", at(TUE, "10:00:00"))
    )
    resolution = clock_of(ticket, at(WED, "12:00:00"), "resolution")
    assert (resolution.state, resolution.outcome) == (ClockState.STOPPED, Outcome.MET)
    assert resolution.stopped_at == when(TUE, "10:00:00")
    assert resolution.elapsed_seconds == 9 * HOUR


def test_closed_stops_every_running_metric() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("responded", at(MON, "10:00:00"))
        .then("closed", at(MON, "12:00:00"))
    )
    state = state_of(ticket, at(TUE, "12:00:00"))
    assert state.status is TicketStatus.CLOSED
    assert [c.state for c in state.clocks] == [ClockState.STOPPED] * 3
    assert [c.stopped_at for c in state.clocks] == [
        when(MON, "10:00:00"),  # response had stopped already
        when(MON, "12:00:00"),
        when(MON, "12:00:00"),
    ]
    assert [c.elapsed_seconds for c in state.clocks] == [HOUR, 3 * HOUR, 3 * HOUR]
    assert [c.outcome for c in state.clocks] == [Outcome.MET] * 3


def test_closed_stops_paused_metrics() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("awaiting_customer", at(MON, "10:00:00"))
        .then("closed", at(MON, "12:00:00"))
    )
    state = state_of(ticket, at(MON, "13:00:00"))
    relief = state.clock("relief")
    assert relief is not None
    assert (relief.state, relief.outcome) == (ClockState.STOPPED, Outcome.MET)
    assert relief.stopped_at == when(MON, "12:00:00")
    assert relief.elapsed_seconds == HOUR


def test_closed_after_due_instant_is_breached() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00"), priority="P1").then("closed", at(MON, "11:00:00"))
    response = clock_of(ticket, at(MON, "12:00:00"))
    assert (response.state, response.outcome) == (ClockState.STOPPED, Outcome.BREACHED)
    assert response.breached_at == when(MON, "10:00:00")
    assert response.stopped_at == when(MON, "11:00:00")
    assert response.remaining_seconds == -HOUR


def test_stop_at_due_instant_is_met() -> None:
    ticket = (
        Ticket().opened(at(MON, "09:00:00"), priority="P1").then("responded", at(MON, "10:00:00"))
    )
    response = clock_of(ticket, at(MON, "12:00:00"))
    assert response.outcome is Outcome.MET
    assert response.remaining_seconds == 0
    assert response.breached_at is None


def test_stop_one_second_after_due_instant_is_breached() -> None:
    ticket = (
        Ticket().opened(at(MON, "09:00:00"), priority="P1").then("responded", at(MON, "10:00:01"))
    )
    response = clock_of(ticket, at(MON, "12:00:00"))
    assert response.outcome is Outcome.BREACHED
    assert response.breached_at == when(MON, "10:00:00")
    assert response.remaining_seconds == -1


def test_stop_while_closed_after_a_due_instant_at_the_close_is_breached() -> None:
    # 4h from Friday 13:00 is due at the Friday 17:00 close; Saturday is after it,
    # even though no business time accrued in between.
    ticket = (
        Ticket()
        .opened("2026-03-06T13:00:00Z", priority="P2")
        .then("responded", "2026-03-07T10:00:00Z")
    )
    response = clock_of(ticket, "2026-03-07T12:00:00Z")
    assert response.outcome is Outcome.BREACHED
    assert response.breached_at == utc("2026-03-06T17:00:00Z")
    assert response.elapsed_seconds == response.target_seconds == 4 * HOUR


def test_reopened_reruns_resolution_keeping_accrued_time() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("resolved", at(MON, "11:00:00"))
        .then("reopened", at(TUE, "09:00:00"))
    )
    state = state_of(ticket, at(TUE, "10:00:00"))
    assert state.status is TicketStatus.OPEN
    resolution = state.clock("resolution")
    assert resolution is not None
    assert (resolution.state, resolution.outcome) == (ClockState.RUNNING, Outcome.PENDING)
    assert resolution.elapsed_seconds == 3 * HOUR
    assert resolution.stopped_at is None
    # 80h - 2h = 78h from Tuesday 09:00: nine 8h days to Fri 13 Mar, then 6h on Monday.
    assert resolution.due_at == utc("2026-03-16T15:00:00Z")
    assert [(s.kind, s.event_id) for s in resolution.segments] == [
        (SegmentKind.RUNNING, "e1"),
        (SegmentKind.STOPPED, "e2"),
        (SegmentKind.RUNNING, "e3"),
    ]
    # response and relief stay stopped at the resolution
    assert [c.stopped_at for c in state.clocks[:2]] == [when(MON, "11:00:00")] * 2


def test_reopened_resolution_outcome_is_decided_by_its_next_stop() -> None:
    # P1 resolution is 2 working days = 16h: met at the first stop (3h), then
    # reopened and resolved again after 18h in all.
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .then("resolved", at(MON, "12:00:00"))
        .then("reopened", at(MON, "13:00:00"))
    )
    meanwhile = clock_of(ticket, at(MON, "14:00:00"), "resolution")
    assert (meanwhile.state, meanwhile.outcome) == (ClockState.RUNNING, Outcome.PENDING)
    assert meanwhile.due_at == when(WED, "10:00:00")  # 13h more: Mon 4h, Tue 8h, Wed 1h
    ticket.then("resolved", at(WED, "12:00:00"))
    resolution = clock_of(ticket, at(WED, "13:00:00"), "resolution")
    assert (resolution.state, resolution.outcome) == (ClockState.STOPPED, Outcome.BREACHED)
    assert resolution.breached_at == when(WED, "10:00:00")
    assert resolution.stopped_at == when(WED, "12:00:00")
    assert resolution.elapsed_seconds == 18 * HOUR


def test_breached_resolution_stays_breached_when_reopened() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .then("resolved", at(WED, "12:00:00"))
        .then("reopened", at(WED, "13:00:00"))
    )
    resolution = clock_of(ticket, at(WED, "14:00:00"), "resolution")
    assert (resolution.state, resolution.outcome) == (ClockState.RUNNING, Outcome.BREACHED)
    assert resolution.breached_at == when(TUE, "17:00:00")  # 16h: Monday and Tuesday
    assert resolution.due_at == resolution.breached_at
    assert resolution.elapsed_seconds == 20 * HOUR


def test_reopened_when_not_resolved_changes_nothing() -> None:
    plain = Ticket().opened(at(MON, "09:00:00"))
    reopened = Ticket().opened(at(MON, "09:00:00")).then("reopened", at(MON, "10:00:00"))
    assert state_of(reopened, at(MON, "11:00:00")) == state_of(plain, at(MON, "11:00:00"))


def test_reopened_after_closed_reruns_resolution() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("closed", at(MON, "11:00:00"))
        .then("reopened", at(MON, "13:00:00"))
    )
    state = state_of(ticket, at(MON, "14:00:00"))
    assert state.status is TicketStatus.OPEN
    response, relief, resolution = state.clocks
    assert (response.state, relief.state) == (ClockState.STOPPED, ClockState.STOPPED)
    assert response.stopped_at == relief.stopped_at == when(MON, "11:00:00")
    assert resolution.state is ClockState.RUNNING
    assert resolution.elapsed_seconds == 3 * HOUR


def test_events_after_closed_change_nothing() -> None:
    closed = Ticket().opened(at(MON, "09:00:00")).then("closed", at(MON, "11:00:00"))
    later = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("closed", at(MON, "11:00:00"))
        .then("responded", at(MON, "12:00:00"))
        .priority("P1", at(MON, "12:30:00"))
        .then("awaiting_customer", at(MON, "13:00:00"))
        .then("customer_replied", at(MON, "13:30:00"))
        .then("resolved", at(MON, "13:45:00"))
    )
    state = state_of(later, at(MON, "14:00:00"))
    assert state == state_of(closed, at(MON, "14:00:00"))
    assert state.priority == "P3"
    assert state.status is TicketStatus.CLOSED


def test_status_follows_the_events() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("awaiting_customer", at(MON, "10:00:00"))
        .then("customer_replied", at(MON, "11:00:00"))
        .then("resolved", at(MON, "12:00:00"))
        .then("reopened", at(MON, "13:00:00"))
        .then("closed", at(MON, "14:00:00"))
    )
    expected = {
        "09:30:00": TicketStatus.OPEN,
        "10:30:00": TicketStatus.AWAITING_CUSTOMER,
        "11:30:00": TicketStatus.OPEN,
        "12:30:00": TicketStatus.RESOLVED,
        "13:30:00": TicketStatus.OPEN,
        "14:30:00": TicketStatus.CLOSED,
    }
    for time, status in expected.items():
        assert state_of(ticket, at(MON, time)).status is status, time


def test_awaiting_customer_while_resolved_keeps_status_resolved() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("resolved", at(MON, "10:00:00"))
        .then("awaiting_customer", at(MON, "11:00:00"))
    )
    assert state_of(ticket, at(MON, "12:00:00")).status is TicketStatus.RESOLVED
    ticket.then("reopened", at(MON, "13:00:00"))
    state = state_of(ticket, at(MON, "14:00:00"))
    assert state.status is TicketStatus.OPEN  # reopening clears the wait
    resolution = state.clock("resolution")
    assert resolution is not None
    assert resolution.state is ClockState.RUNNING


def test_stopped_clock_keeps_its_figures_as_time_passes() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00")).then("responded", at(MON, "10:00:00"))
    early = clock_of(ticket, at(MON, "10:00:00"))
    late = clock_of(ticket, "2026-04-30T12:00:00Z")
    assert (early.elapsed_seconds, early.outcome) == (late.elapsed_seconds, late.outcome)
    assert late.segments[-1].kind is SegmentKind.STOPPED
    assert late.segments[-1].end == utc("2026-04-30T12:00:00Z")
