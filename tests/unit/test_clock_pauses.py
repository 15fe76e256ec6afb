"""Pauses: awaiting_customer / customer_replied, per metric, and stops while paused.

Calendar ``office`` (London Mon-Fri 09:00-17:00, on UTC in early March 2026);
base policy as in ``builders.BASE_POLICY`` (relief P1 4h, P3 16h).
"""

from __future__ import annotations

from typing import Any

from domain.clock_model import ClockState, Outcome, SegmentKind, TicketStatus
from domain.policy import Policy
from domain.versions import Version
from tests.unit.builders import HOUR, Ticket, clock_of, policy, state_of, utc

MON, TUE, WED = "2026-03-02", "2026-03-03", "2026-03-04"


def at(day: str, time: str) -> str:
    return f"{day}T{time}Z"


def paused_from_ten(*more: tuple[str, str]) -> Ticket:
    ticket = Ticket().opened(at(MON, "09:00:00")).then("awaiting_customer", at(MON, "10:00:00"))
    for event_type, instant in more:
        ticket.then(event_type, instant)
    return ticket


def pausing_policy(**pauses: bool) -> Version[Policy]:
    metrics: dict[str, dict[str, Any]] = {
        "response": {"targets": {"P3": {"hours": 8}}},
        "relief": {"targets": {"P3": {"hours": 16}}},
        "resolution": {"targets": {"P3": {"hours": 80}}},
    }
    for metric, flag in pauses.items():
        metrics[metric]["pause_when_awaiting_customer"] = flag
    return policy(metrics=metrics)


def test_awaiting_customer_pauses_relief_and_resolution() -> None:
    state = state_of(paused_from_ten(), at(MON, "12:00:00"))
    assert state.status is TicketStatus.AWAITING_CUSTOMER
    for metric in ("relief", "resolution"):
        clock = state.clock(metric)
        assert clock is not None
        assert (clock.state, clock.outcome) == (ClockState.PAUSED, Outcome.PENDING)
        assert clock.elapsed_seconds == HOUR


def test_response_does_not_pause_by_default() -> None:
    response = clock_of(paused_from_ten(), at(MON, "12:00:00"))
    assert response.state is ClockState.RUNNING
    assert response.elapsed_seconds == 3 * HOUR


def test_response_pauses_when_the_policy_says_so() -> None:
    state = state_of(paused_from_ten(), at(MON, "12:00:00"), pausing_policy(response=True))
    response = state.clock("response")
    assert response is not None
    assert (response.state, response.elapsed_seconds) == (ClockState.PAUSED, HOUR)


def test_relief_keeps_running_when_the_policy_says_it_does_not_pause() -> None:
    state = state_of(paused_from_ten(), at(MON, "12:00:00"), pausing_policy(relief=False))
    relief, resolution = state.clock("relief"), state.clock("resolution")
    assert relief is not None
    assert resolution is not None
    assert (relief.state, relief.elapsed_seconds) == (ClockState.RUNNING, 3 * HOUR)
    assert (resolution.state, resolution.elapsed_seconds) == (ClockState.PAUSED, HOUR)


def test_customer_replied_resumes_paused_metrics() -> None:
    ticket = paused_from_ten(("customer_replied", at(TUE, "09:00:00")))
    state = state_of(ticket, at(TUE, "10:00:00"))
    assert state.status is TicketStatus.OPEN
    relief = state.clock("relief")
    assert relief is not None
    assert relief.state is ClockState.RUNNING
    assert relief.elapsed_seconds == 2 * HOUR
    assert relief.due_at == utc(at(WED, "16:00:00"))  # 15h more: Tue 8h, Wed 7h


def test_paused_metric_accrues_no_business_time() -> None:
    ticket = paused_from_ten()
    elapsed = {
        clock_of(ticket, when, "relief").elapsed_seconds
        for when in (
            at(MON, "10:00:00"),
            at(MON, "16:59:59"),
            at(TUE, "12:00:00"),
            "2026-03-20T12:00:00Z",
        )
    }
    assert elapsed == {HOUR}


def test_paused_metric_has_no_due_instant() -> None:
    # P1 relief: 4h, at risk after 3h. Paused after 3.5h.
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .then("awaiting_customer", at(MON, "12:30:00"))
    )
    before = clock_of(ticket, at(MON, "12:15:00"), "relief")
    assert (before.due_at, before.at_risk) == (utc(at(MON, "13:00:00")), True)
    relief = clock_of(ticket, at(MON, "12:45:00"), "relief")
    assert relief.state is ClockState.PAUSED
    assert (relief.due_at, relief.warn_at, relief.at_risk) == (None, None, False)
    assert relief.remaining_seconds == 1800
    # a paused clock is never breached by the passing of time
    assert clock_of(ticket, at(WED, "12:00:00"), "relief").outcome is Outcome.PENDING


def test_second_awaiting_customer_changes_nothing() -> None:
    once = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("awaiting_customer", at(MON, "10:00:00"), event_id="wait")
        .then("customer_replied", at(MON, "12:00:00"), event_id="reply")
    )
    twice = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("awaiting_customer", at(MON, "10:00:00"), event_id="wait")
        .then("awaiting_customer", at(MON, "11:00:00"), event_id="again")
        .then("customer_replied", at(MON, "12:00:00"), event_id="reply")
    )
    assert state_of(twice, at(MON, "13:00:00")) == state_of(once, at(MON, "13:00:00"))
    relief = clock_of(twice, at(MON, "13:00:00"), "relief")
    assert relief.elapsed_seconds == 2 * HOUR
    assert [s.event_id for s in relief.segments] == ["e1", "wait", "reply"]


def test_customer_replied_while_not_paused_changes_nothing() -> None:
    plain = Ticket().opened(at(MON, "09:00:00"))
    replied = Ticket().opened(at(MON, "09:00:00")).then("customer_replied", at(MON, "10:00:00"))
    assert state_of(replied, at(MON, "11:00:00")) == state_of(plain, at(MON, "11:00:00"))


def test_second_customer_replied_changes_nothing() -> None:
    once = paused_from_ten(("customer_replied", at(MON, "11:00:00")))
    twice = paused_from_ten(
        ("customer_replied", at(MON, "11:00:00")), ("customer_replied", at(MON, "12:00:00"))
    )
    assert state_of(twice, at(MON, "13:00:00")) == state_of(once, at(MON, "13:00:00"))


def test_stop_while_paused_compares_accrued_with_target() -> None:
    # P1 relief (4h) paused after 3h; relieved at 16:00, long after it would have
    # been due had it kept running: 3h <= 4h, so met.
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .then("awaiting_customer", at(MON, "12:00:00"))
        .then("relieved", at(MON, "16:00:00"))
    )
    relief = clock_of(ticket, at(MON, "17:00:00"), "relief")
    assert (relief.state, relief.outcome) == (ClockState.STOPPED, Outcome.MET)
    assert relief.stopped_at == utc(at(MON, "16:00:00"))
    assert relief.elapsed_seconds == 3 * HOUR


def test_stop_while_paused_with_exactly_the_target_accrued_is_met() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .then("awaiting_customer", at(MON, "13:00:00"))
        .then("relieved", at(TUE, "16:00:00"))
    )
    relief = clock_of(ticket, at(TUE, "17:00:00"), "relief")
    assert (relief.outcome, relief.elapsed_seconds) == (Outcome.MET, 4 * HOUR)


def test_breach_before_the_pause_stays_through_the_pause_and_the_stop() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .then("awaiting_customer", at(MON, "14:00:00"))
    )
    paused = clock_of(ticket, at(MON, "15:00:00"), "relief")
    assert (paused.state, paused.outcome) == (ClockState.PAUSED, Outcome.BREACHED)
    assert paused.breached_at == utc(at(MON, "13:00:00"))
    assert paused.due_at is None
    ticket.then("relieved", at(MON, "16:00:00"))
    relief = clock_of(ticket, at(MON, "17:00:00"), "relief")
    assert (relief.outcome, relief.breached_at) == (Outcome.BREACHED, utc(at(MON, "13:00:00")))
    assert relief.elapsed_seconds == 5 * HOUR


def test_resolved_while_paused_stops_every_metric() -> None:
    ticket = paused_from_ten(("resolved", at(TUE, "10:00:00")))
    state = state_of(ticket, at(TUE, "11:00:00"))
    response, relief, resolution = state.clocks
    assert {c.state for c in state.clocks} == {ClockState.STOPPED}
    assert (relief.outcome, relief.elapsed_seconds) == (Outcome.MET, HOUR)
    assert (resolution.outcome, resolution.elapsed_seconds) == (Outcome.MET, HOUR)
    # response never paused: 9h > 8h, due at Monday's close
    assert (response.outcome, response.breached_at) == (
        Outcome.BREACHED,
        utc(at(MON, "17:00:00")),
    )


def test_reopened_clears_the_wait_and_runs_resolution() -> None:
    ticket = paused_from_ten(("resolved", at(MON, "11:00:00")), ("reopened", at(MON, "12:00:00")))
    state = state_of(ticket, at(MON, "13:00:00"))
    assert state.status is TicketStatus.OPEN
    resolution = state.clock("resolution")
    assert resolution is not None
    assert resolution.state is ClockState.RUNNING
    assert resolution.elapsed_seconds == 2 * HOUR
    # the customer's reply after the reopening is one "while not paused"
    ticket.then("customer_replied", at(MON, "14:00:00"))
    later = clock_of(ticket, at(MON, "15:00:00"), "resolution")
    assert (
        later.segments
        == clock_of(
            paused_from_ten(("resolved", at(MON, "11:00:00")), ("reopened", at(MON, "12:00:00"))),
            at(MON, "15:00:00"),
            "resolution",
        ).segments
    )


def test_paused_exactly_at_the_target_then_resumed_is_due_at_the_resume() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .then("awaiting_customer", at(MON, "13:00:00"))  # 4h accrued: relief's target
        .then("customer_replied", at(MON, "15:00:00"))
    )
    paused = clock_of(ticket, at(MON, "14:00:00"), "relief")
    assert (paused.state, paused.outcome) == (ClockState.PAUSED, Outcome.PENDING)
    resumed = clock_of(ticket, at(MON, "15:00:00"), "relief")
    assert (resumed.outcome, resumed.due_at) == (Outcome.PENDING, utc(at(MON, "15:00:00")))
    after = clock_of(ticket, at(MON, "15:00:01"), "relief")
    assert (after.outcome, after.breached_at) == (Outcome.BREACHED, utc(at(MON, "15:00:00")))
    ticket.then("relieved", at(MON, "15:00:00"))
    assert clock_of(ticket, at(MON, "16:00:00"), "relief").outcome is Outcome.MET


def test_paused_segment_counts_nothing() -> None:
    ticket = paused_from_ten(("customer_replied", at(MON, "11:00:00")))
    relief = clock_of(ticket, at(MON, "12:00:00"), "relief")
    assert [(s.kind, s.seconds) for s in relief.segments] == [
        (SegmentKind.RUNNING, HOUR),
        (SegmentKind.PAUSED, 0),
        (SegmentKind.RUNNING, HOUR),
    ]
