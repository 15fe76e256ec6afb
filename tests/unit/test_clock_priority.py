"""Priority changes: new targets from the original start, breaches at the change, calendar
overrides, clocks appearing with a raise, and the initial priority.

Calendar ``office``: London Mon-Fri 09:00-17:00 (UTC in early March 2026).
Base policy: response P1 1h / P2 4h / P3 8h / P4 16h; relief P1 4h / P2 8h /
P3 16h (none for P4); resolution P1 16h / P2 40h / P3 80h (none for P4).
"""

from __future__ import annotations

from typing import Any

from domain.clock_model import ClockState, Outcome, SegmentKind
from domain.policy import Policy
from domain.versions import Version
from tests.unit.builders import HOUR, Ticket, clock_of, policy, state_of, utc

MON, TUE, WED = "2026-03-02", "2026-03-03", "2026-03-04"


def at(day: str, time: str) -> str:
    return f"{day}T{time}Z"


def overridden(**changes: Any) -> Version[Policy]:
    """The base policy with P1 on the built-in round-the-clock calendar."""
    return policy(calendar_overrides={"P1": "24x7"}, **changes)


def test_priority_change_keeps_accrued_time_and_takes_new_target() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00")).priority("P2", at(MON, "10:00:00"))
    state = state_of(ticket, at(MON, "11:00:00"))
    assert state.priority == "P2"
    response, relief, _ = state.clocks
    assert (response.target_seconds, response.elapsed_seconds) == (4 * HOUR, 2 * HOUR)
    assert response.started_at == utc(at(MON, "09:00:00"))
    assert response.due_at == utc(at(MON, "13:00:00"))  # measured from the opening
    assert response.warn_at == utc(at(MON, "12:00:00"))
    assert relief.due_at == utc(at(MON, "17:00:00"))


def test_priority_raise_breaches_at_change_when_accrued_exceeds_new_target() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00")).priority("P1", at(MON, "11:00:00"))
    for when in (at(MON, "11:00:00"), at(MON, "11:30:00")):
        response = clock_of(ticket, when)
        assert (response.state, response.outcome) == (ClockState.RUNNING, Outcome.BREACHED)
        assert response.breached_at == utc(at(MON, "11:00:00"))  # not 10:00: P1 applies from 11:00
        assert response.due_at == response.breached_at
        assert response.at_risk is False
    assert clock_of(ticket, at(MON, "11:30:00")).remaining_seconds == HOUR - 9000


def test_stop_at_the_instant_of_a_breaching_raise_is_breached() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .priority("P1", at(MON, "11:00:00"))
        .then("responded", at(MON, "11:00:00"))
    )
    response = clock_of(ticket, at(MON, "12:00:00"))
    assert (response.outcome, response.breached_at) == (Outcome.BREACHED, utc(at(MON, "11:00:00")))


def test_priority_raise_to_exactly_the_accrued_time_is_due_at_the_change() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00")).priority("P1", at(MON, "10:00:00"))
    now = clock_of(ticket, at(MON, "10:00:00"))
    assert (now.outcome, now.due_at) == (Outcome.PENDING, utc(at(MON, "10:00:00")))
    later = clock_of(ticket, at(MON, "10:00:01"))
    assert (later.outcome, later.breached_at) == (Outcome.BREACHED, utc(at(MON, "10:00:00")))
    ticket.then("responded", at(MON, "10:00:00"))
    assert clock_of(ticket, at(MON, "12:00:00")).outcome is Outcome.MET


def test_breach_stays_after_lowering_priority() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .priority("P1", at(MON, "11:00:00"))
        .priority("P3", at(MON, "12:00:00"))
    )
    response = clock_of(ticket, at(MON, "13:00:00"))
    assert (response.outcome, response.breached_at) == (Outcome.BREACHED, utc(at(MON, "11:00:00")))
    assert response.target_seconds == 8 * HOUR
    assert response.remaining_seconds == 4 * HOUR  # positive, and still breached
    ticket.then("responded", at(MON, "14:00:00"))
    assert clock_of(ticket, at(MON, "15:00:00")).outcome is Outcome.BREACHED


def test_breach_by_the_passing_of_time_stays_after_lowering_priority() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .priority("P3", at(MON, "10:30:00"))
        .then("responded", at(MON, "11:00:00"))
    )
    response = clock_of(ticket, at(MON, "12:00:00"))
    assert (response.outcome, response.breached_at) == (Outcome.BREACHED, utc(at(MON, "10:00:00")))


def test_lowering_priority_in_time_avoids_the_breach() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"), priority="P1")
        .priority("P3", at(MON, "09:30:00"))
        .then("responded", at(MON, "11:00:00"))
    )
    response = clock_of(ticket, at(MON, "12:00:00"))
    assert (response.outcome, response.target_seconds) == (Outcome.MET, 8 * HOUR)


def test_stopped_metric_keeps_outcome_and_target_on_priority_change() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("responded", at(MON, "11:00:00"))
        .priority("P1", at(MON, "12:00:00"))
    )
    state = state_of(ticket, at(MON, "12:30:00"))
    response, relief, _ = state.clocks
    assert (response.outcome, response.target_seconds) == (Outcome.MET, 8 * HOUR)
    assert response.stopped_at == utc(at(MON, "11:00:00"))
    # relief was running: 3h accrued, P1 gives 4h
    assert (relief.outcome, relief.target_seconds) == (Outcome.PENDING, 4 * HOUR)
    assert relief.due_at == utc(at(MON, "13:00:00"))


def test_calendar_override_counts_before_change_on_old_calendar() -> None:
    # Friday 16:00 on the office calendar, raised to P1 (round the clock) on Saturday.
    ticket = Ticket().opened("2026-03-06T16:00:00Z").priority("P1", "2026-03-07T10:00:00Z")
    state = state_of(ticket, "2026-03-07T12:00:00Z", plan=overridden())
    _, relief, resolution = state.clocks
    assert relief.calendar == resolution.calendar == "24x7"
    assert relief.elapsed_seconds == 3 * HOUR  # Friday 16-17 on office, Saturday 10-12 on 24x7
    assert relief.due_at == utc("2026-03-07T13:00:00Z")
    # P1 resolution is 2 working days of the 24x7 calendar: 48h, 47h left at the change
    assert resolution.target_seconds == 48 * HOUR
    assert resolution.due_at == utc("2026-03-09T09:00:00Z")
    kinds = [(s.kind, s.calendar) for s in relief.segments]
    assert kinds == [
        (SegmentKind.RUNNING, "office"),
        (SegmentKind.OUTSIDE_HOURS, "office"),
        (SegmentKind.RUNNING, "24x7"),
    ]


def test_lowering_back_off_an_override_returns_to_the_old_calendar() -> None:
    ticket = (
        Ticket()
        .opened("2026-03-06T16:00:00Z")
        .priority("P1", "2026-03-07T10:00:00Z")
        .priority("P3", "2026-03-07T12:00:00Z")
    )
    relief = clock_of(ticket, "2026-03-09T10:00:00Z", "relief", plan=overridden())
    assert relief.calendar == "office"
    assert relief.elapsed_seconds == 4 * HOUR  # 1h office, 2h 24x7, 1h office on Monday
    assert relief.target_seconds == 16 * HOUR


def test_clock_appearing_with_raise_counts_from_opening() -> None:
    plan = policy(
        metrics={
            "response": {"targets": {"P3": {"hours": 8}}},
            "resolution": {"targets": {"P1": {"working_days": 2}}},
        }
    )
    ticket = Ticket().opened(at(MON, "09:00:00"))
    assert state_of(ticket, at(MON, "10:00:00"), plan=plan).clock("resolution") is None
    ticket.priority("P1", at(MON, "11:00:00"))
    resolution = clock_of(ticket, at(MON, "12:00:00"), "resolution", plan=plan)
    assert resolution.started_at == utc(at(MON, "09:00:00"))
    assert resolution.elapsed_seconds == 3 * HOUR
    assert resolution.target_seconds == 16 * HOUR
    assert resolution.due_at == utc(at(TUE, "17:00:00"))
    assert resolution.segments[0].start == utc(at(MON, "09:00:00"))


def test_clock_appearing_with_raise_breaches_at_change() -> None:
    plan = policy(metrics={"response": {"targets": {"P1": {"hours": 1}}}})
    ticket = Ticket().opened(at(MON, "09:00:00")).priority("P1", at(MON, "11:00:00"))
    response = clock_of(ticket, at(MON, "11:30:00"), plan=plan)
    assert (response.outcome, response.breached_at) == (Outcome.BREACHED, utc(at(MON, "11:00:00")))


def test_clock_appearing_with_raise_excludes_earlier_pauses() -> None:
    plan = policy(metrics={"relief": {"targets": {"P1": {"hours": 4}}}})
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("awaiting_customer", at(MON, "10:00:00"))
        .then("customer_replied", at(MON, "11:00:00"))
        .priority("P1", at(MON, "12:00:00"))
    )
    relief = clock_of(ticket, at(MON, "12:00:00"), "relief", plan=plan)
    assert (relief.elapsed_seconds, relief.outcome) == (2 * HOUR, Outcome.PENDING)
    assert relief.due_at == utc(at(MON, "14:00:00"))


def test_clock_appearing_with_raise_counts_on_the_calendars_held() -> None:
    # No target at P3 (office); P2 on a 24x7 override gives one.
    plan = policy(
        calendar_overrides={"P2": "24x7"},
        metrics={"relief": {"targets": {"P2": {"hours": 24}}}},
    )
    ticket = Ticket().opened("2026-03-06T16:00:00Z").priority("P2", "2026-03-07T10:00:00Z")
    relief = clock_of(ticket, "2026-03-07T11:00:00Z", "relief", plan=plan)
    assert relief.elapsed_seconds == 2 * HOUR


def test_new_priority_without_target_keeps_old_target() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00")).priority("P4", at(MON, "10:00:00"))
    state = state_of(ticket, at(MON, "11:00:00"))
    response, relief, resolution = state.clocks
    assert response.target_seconds == 16 * HOUR  # P4 has a response target
    assert relief.target_seconds == 16 * HOUR  # P4 has none: P3's stays
    assert resolution.target_seconds == 80 * HOUR
    assert relief.elapsed_seconds == 2 * HOUR


def test_new_priority_without_target_keeps_old_calendar() -> None:
    plan = overridden(
        metrics={
            "relief": {"targets": {"P1": {"hours": 4}, "P3": {"hours": 16}}},
            "resolution": {"targets": {"P3": {"working_days": 10}}},
        }
    )
    ticket = Ticket().opened("2026-03-06T16:00:00Z").priority("P1", "2026-03-06T16:30:00Z")
    state = state_of(ticket, "2026-03-07T12:00:00Z", plan=plan)
    relief, resolution = state.clocks
    assert (relief.calendar, relief.elapsed_seconds) == ("24x7", 20 * HOUR)
    assert (resolution.calendar, resolution.elapsed_seconds) == ("office", HOUR)
    assert resolution.target_seconds == 80 * HOUR


def test_priority_change_to_the_same_priority_changes_nothing() -> None:
    plain = Ticket().opened(at(MON, "09:00:00"))
    same = Ticket().opened(at(MON, "09:00:00")).priority("P3", at(MON, "10:00:00"))
    assert state_of(same, at(MON, "11:00:00")) == state_of(plain, at(MON, "11:00:00"))


def test_priority_change_while_paused_takes_new_target() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("awaiting_customer", at(MON, "10:00:00"))
        .priority("P1", at(MON, "11:00:00"))
    )
    relief = clock_of(ticket, at(MON, "11:30:00"), "relief")
    assert relief.state is ClockState.PAUSED
    assert (relief.target_seconds, relief.elapsed_seconds) == (4 * HOUR, HOUR)
    assert (relief.outcome, relief.due_at) == (Outcome.PENDING, None)
    ticket.then("customer_replied", at(MON, "12:00:00"))
    assert clock_of(ticket, at(MON, "12:30:00"), "relief").due_at == utc(at(MON, "15:00:00"))


def test_priority_raise_while_paused_can_breach_at_the_change() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("awaiting_customer", at(MON, "14:00:00"))
        .priority("P1", at(MON, "15:00:00"))
    )
    relief = clock_of(ticket, at(MON, "16:00:00"), "relief")
    assert (relief.state, relief.outcome) == (ClockState.PAUSED, Outcome.BREACHED)
    assert relief.breached_at == utc(at(MON, "15:00:00"))
    assert relief.due_at is None


def test_stopped_metric_without_target_gets_no_clock_on_raise() -> None:
    plan = policy(
        metrics={
            "relief": {"targets": {"P1": {"hours": 4}}},
            "response": {"targets": {"P3": {"hours": 8}}},
        }
    )
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("relieved", at(MON, "10:00:00"))
        .priority("P1", at(MON, "11:00:00"))
    )
    state = state_of(ticket, at(MON, "12:00:00"), plan=plan)
    assert state.clock("relief") is None


def test_reopened_resolution_takes_the_current_priority_target() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("resolved", at(MON, "11:00:00"))
        .priority("P1", at(MON, "12:00:00"))
    )
    stopped = clock_of(ticket, at(MON, "12:30:00"), "resolution")
    assert (stopped.target_seconds, stopped.outcome) == (80 * HOUR, Outcome.MET)
    ticket.then("reopened", at(MON, "13:00:00"))
    resolution = clock_of(ticket, at(MON, "13:30:00"), "resolution")
    assert resolution.target_seconds == 16 * HOUR
    assert resolution.outcome is Outcome.PENDING
    assert resolution.due_at == utc(at(WED, "11:00:00"))  # 14h: Mon 4h, Tue 8h, Wed 2h


def test_reopened_resolution_breaches_at_the_reopening_when_the_new_target_is_exceeded() -> None:
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("resolved", at(TUE, "12:00:00"))  # 11h accrued
        .priority("P1", at(TUE, "13:00:00"))
        .priority("P2", at(TUE, "13:30:00"))
        .priority("P1", at(TUE, "14:00:00"))
    )
    ticket.then("reopened", at(WED, "09:00:00"))
    resolution = clock_of(ticket, at(WED, "10:00:00"), "resolution")
    assert resolution.target_seconds == 16 * HOUR
    assert resolution.outcome is Outcome.PENDING  # 11h <= 16h
    ticket2 = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("resolved", at(WED, "12:00:00"))  # 19h accrued, met under P3's 80h
        .priority("P1", at(WED, "13:00:00"))
        .then("reopened", at(WED, "14:00:00"))
    )
    breached = clock_of(ticket2, at(WED, "15:00:00"), "resolution")
    assert (breached.outcome, breached.breached_at) == (Outcome.BREACHED, utc(at(WED, "14:00:00")))


def test_warn_at_after_a_raise_past_the_threshold_is_the_change() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00")).priority("P2", at(MON, "12:30:00"))
    response = clock_of(ticket, at(MON, "12:45:00"))
    assert response.warn_at == utc(at(MON, "12:30:00"))  # 3.5h accrued, P2 warns at 3h
    assert response.at_risk is True
    assert response.due_at == utc(at(MON, "13:00:00"))


def test_warn_at_already_passed_is_kept_when_the_threshold_is_unchanged() -> None:
    plan = policy(
        metrics={"relief": {"targets": {"P2": {"hours": 4}, "P3": {"hours": 4}}}},
    )
    ticket = (
        Ticket()
        .opened(at(MON, "09:00:00"))
        .then("awaiting_customer", at(MON, "12:30:00"))
        .then("customer_replied", at(MON, "13:00:00"))
        .priority("P2", at(MON, "13:10:00"))
    )
    relief = clock_of(ticket, at(MON, "13:15:00"), "relief", plan=plan)
    assert relief.warn_at == utc(at(MON, "12:00:00"))
    assert relief.due_at == utc(at(MON, "13:30:00"))


def test_initial_priority_comes_from_the_rules_when_opened_names_none() -> None:
    rules = [
        {"when": {"kind": "feature_request"}, "priority": "P4"},
        {"when": {"channel": "phone"}, "priority": "P2"},
    ]
    plan = policy(priority_rules=rules)
    feature = Ticket().opened(at(MON, "09:00:00"), kind="feature_request", channel="phone")
    phone = Ticket().opened(at(MON, "09:00:00"), channel="phone")
    named = Ticket().opened(at(MON, "09:00:00"), channel="phone", priority="P1")
    other = Ticket().opened(at(MON, "09:00:00"), channel="email")
    assert state_of(feature, at(MON, "10:00:00"), plan=plan).priority == "P4"
    assert state_of(phone, at(MON, "10:00:00"), plan=plan).priority == "P2"
    assert state_of(named, at(MON, "10:00:00"), plan=plan).priority == "P1"
    assert state_of(other, at(MON, "10:00:00"), plan=plan).priority == "P3"
    assert clock_of(phone, at(MON, "10:00:00"), plan=plan).target_seconds == 4 * HOUR


def test_metric_without_a_target_for_the_priority_has_no_clock() -> None:
    state = state_of(Ticket().opened(at(MON, "09:00:00"), priority="P4"), at(MON, "10:00:00"))
    assert [c.metric for c in state.clocks] == ["response"]
