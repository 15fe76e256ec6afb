"""Event order and time travel: occurred_at order, ties, late events, the ``at`` cut-off,
and the ticket fields the evaluator reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.business_time import CalendarTimeline
from domain.clock_model import ClockState, Outcome, TicketStatus
from domain.clocks import evaluate
from domain.errors import NotFound
from tests.unit.builders import (
    DEFAULT_CALENDARS,
    HOUR,
    OFFICE,
    Ticket,
    calendars,
    clock_of,
    make_event,
    policy,
    state_of,
    utc,
)

MON = "2026-03-02"


def at(time: str) -> str:
    return f"{MON}T{time}Z"


def test_late_event_is_evaluated_in_occurred_at_order() -> None:
    in_order = (
        Ticket()
        .opened(at("09:00:00"))
        .then("responded", at("10:00:00"), event_id="r")
        .then("awaiting_customer", at("12:00:00"), event_id="w")
    )
    late = (
        Ticket()
        .opened(at("09:00:00"))
        .then("awaiting_customer", at("12:00:00"), event_id="w")
        .then("responded", at("10:00:00"), event_id="r")  # recorded after, happened before
    )
    state = state_of(late, at("13:00:00"))
    assert state == state_of(in_order, at("13:00:00"))
    response = state.clock("response")
    assert response is not None
    assert (response.stopped_at, response.elapsed_seconds) == (utc(at("10:00:00")), HOUR)


def test_late_pause_is_evaluated_before_a_reply_recorded_earlier() -> None:
    # The reply is recorded first (and alone would change nothing); the late
    # awaiting_customer before it makes it a resume.
    ticket = (
        Ticket()
        .opened(at("09:00:00"))
        .then("customer_replied", at("12:00:00"))
        .then("awaiting_customer", at("10:00:00"))
    )
    relief = clock_of(ticket, at("13:00:00"), "relief")
    assert relief.state is ClockState.RUNNING
    assert relief.elapsed_seconds == 2 * HOUR


def test_late_priority_change_rewrites_the_clock() -> None:
    ticket = (
        Ticket()
        .opened(at("09:00:00"))
        .then("responded", at("12:00:00"))
        .priority("P1", at("09:30:00"))  # learned late: the ticket was P1 from 09:30
    )
    response = clock_of(ticket, at("13:00:00"))
    assert (response.outcome, response.breached_at) == (Outcome.BREACHED, utc(at("10:00:00")))


def test_ties_in_occurred_at_use_recorded_order() -> None:
    wait_then_reply = (
        Ticket()
        .opened(at("09:00:00"))
        .then("awaiting_customer", at("10:00:00"))
        .then("customer_replied", at("10:00:00"))
    )
    reply_then_wait = (
        Ticket()
        .opened(at("09:00:00"))
        .then("customer_replied", at("10:00:00"))
        .then("awaiting_customer", at("10:00:00"))
    )
    running = clock_of(wait_then_reply, at("11:00:00"), "relief")
    assert (running.state, running.elapsed_seconds) == (ClockState.RUNNING, 2 * HOUR)
    paused = clock_of(reply_then_wait, at("11:00:00"), "relief")
    assert (paused.state, paused.elapsed_seconds) == (ClockState.PAUSED, HOUR)


def test_ties_between_a_stop_and_a_breaching_raise_use_recorded_order() -> None:
    stop_first = (
        Ticket()
        .opened(at("09:00:00"))
        .then("responded", at("11:00:00"))
        .priority("P1", at("11:00:00"))
    )
    raise_first = (
        Ticket()
        .opened(at("09:00:00"))
        .priority("P1", at("11:00:00"))
        .then("responded", at("11:00:00"))
    )
    assert clock_of(stop_first, at("12:00:00")).outcome is Outcome.MET
    assert clock_of(raise_first, at("12:00:00")).outcome is Outcome.BREACHED


def test_ties_are_broken_by_version_not_by_position_in_the_list() -> None:
    ticket = (
        Ticket()
        .opened(at("09:00:00"))
        .then("awaiting_customer", at("10:00:00"))
        .then("customer_replied", at("10:00:00"))
    )
    shuffled = [ticket.events[2], ticket.events[0], ticket.events[1]]
    state = evaluate("T-1", shuffled, policy(), DEFAULT_CALENDARS, utc(at("11:00:00")))
    assert state == state_of(ticket, at("11:00:00"))


def test_events_after_at_are_ignored() -> None:
    ticket = (
        Ticket()
        .opened(at("09:00:00"))
        .then("responded", at("10:00:00"))
        .then("closed", at("11:00:00"))
    )
    state = state_of(ticket, at("09:30:00"))
    assert state.status is TicketStatus.OPEN
    response = state.clock("response")
    assert response is not None
    assert (response.state, response.elapsed_seconds) == (ClockState.RUNNING, 1800)
    assert state.evaluated_at == utc(at("09:30:00"))


def test_event_at_exactly_at_is_applied() -> None:
    ticket = Ticket().opened(at("09:00:00")).then("responded", at("10:00:00"))
    assert clock_of(ticket, at("10:00:00")).state is ClockState.STOPPED


def test_evaluation_before_opening_is_not_found() -> None:
    ticket = Ticket().opened(at("09:00:00"))
    with pytest.raises(NotFound):
        state_of(ticket, at("08:59:59"))
    with pytest.raises(NotFound):
        evaluate("T-0", [], policy(), DEFAULT_CALENDARS, utc(at("09:00:00")))


def test_events_before_the_opening_are_ignored() -> None:
    # The write side refuses them; a replay does not trust that it did.
    ticket = Ticket().opened(at("09:00:00")).then("responded", at("08:00:00"))
    response = clock_of(ticket, at("10:00:00"))
    assert (response.state, response.elapsed_seconds) == (ClockState.RUNNING, HOUR)


def test_a_second_opened_is_ignored() -> None:
    ticket = Ticket().opened(at("09:00:00"))
    ticket.events.append(
        make_event("T-1", 2, "opened", utc(at("10:00:00")), {"plan": "plan", "priority": "P1"})
    )
    state = state_of(ticket, at("11:00:00"))
    assert state.priority == "P3"
    assert state.opened_at == utc(at("09:00:00"))


def test_ticket_fields() -> None:
    ticket = Ticket("ACME-1").opened(
        at("09:15:00"), plan="gold", priority="P2", customer="acme", kind="query"
    )
    offset_at = datetime.fromisoformat("2026-03-02T13:00:00+01:00")
    state = evaluate("ACME-1", ticket.events, policy(number=3), DEFAULT_CALENDARS, offset_at)
    assert state.ticket_id == "ACME-1"
    assert (state.plan, state.policy_version, state.priority) == ("gold", 3, "P2")
    assert (state.customer, state.kind, state.status) == ("acme", "query", TicketStatus.OPEN)
    assert state.opened_at == utc(at("09:15:00"))
    assert state.evaluated_at == utc(at("12:00:00"))
    assert state.evaluated_at.tzinfo is UTC


def test_customer_is_none_when_opened_names_none() -> None:
    assert state_of(Ticket().opened(at("09:00:00")), at("10:00:00")).customer is None


def test_clocks_come_in_metric_order() -> None:
    state = state_of(Ticket().opened(at("09:00:00")), at("10:00:00"))
    assert [c.metric for c in state.clocks] == ["response", "relief", "resolution"]


def test_24x7_is_built_in_and_never_asked_of_the_lookup() -> None:
    asked: list[str] = []
    office_only = calendars({"office": OFFICE})

    def lookup(calendar_id: str) -> CalendarTimeline:
        asked.append(calendar_id)
        return office_only(calendar_id)

    ticket = Ticket().opened("2026-03-07T10:00:00Z", priority="P1")
    plan = policy(calendar_overrides={"P1": "24x7"})
    state = evaluate("T-1", ticket.events, plan, lookup, utc("2026-03-07T10:30:00Z"))
    response = state.clock("response")
    assert response is not None
    assert (response.calendar, response.elapsed_seconds) == ("24x7", 1800)
    assert asked == []


def test_the_lookup_is_asked_once_per_calendar() -> None:
    asked: list[str] = []
    office_only = calendars({"office": OFFICE})

    def lookup(calendar_id: str) -> CalendarTimeline:
        asked.append(calendar_id)
        return office_only(calendar_id)

    ticket = (
        Ticket()
        .opened(at("09:00:00"))
        .priority("P2", at("10:00:00"))
        .priority("P3", at("11:00:00"))
    )
    evaluate("T-1", ticket.events, policy(), lookup, utc(at("12:00:00")))
    assert asked == ["office"]
