"""A contract's SLA suspension (Konneqt) and its calendar, as the evaluator applies them.

Calendar ``office``: London Mon-Fri 09:00-17:00 (UTC in early March 2026).
Base policy (``builders.BASE_POLICY``): response P1 1h, P2 4h, P3 one working
day; relief P3 two working days; resolution P3 ten working days.
"""

from __future__ import annotations

from domain.business_time import to_us
from domain.clock_model import (
    Clock,
    ClockFigures,
    ClockState,
    ContractContext,
    Outcome,
    SegmentKind,
    TicketState,
)
from domain.clocks import evaluate, evaluate_figures, occurrence_of
from domain.ledger import Timelines
from domain.policy import Policy
from domain.versions import Version
from tests.unit.builders import (
    DEFAULT_CALENDARS,
    HOUR,
    OFFICE,
    Ticket,
    calendar_doc,
    calendars,
    contract_context,
    policy,
    utc,
)

MON, TUE = "2026-03-02", "2026-03-03"


def at(day: str, time: str) -> str:
    return f"{day}T{time}Z"


def state(
    ticket: Ticket,
    when: str,
    contract: ContractContext | None,
    lookup: Timelines = DEFAULT_CALENDARS,
    plan: Version[Policy] | None = None,
) -> TicketState:
    plan = plan or policy()
    return evaluate(ticket.ticket_id, ticket.events, plan, lookup, utc(when), contract=contract)


def clock(
    ticket: Ticket, when: str, contract: ContractContext | None, metric: str = "response"
) -> Clock:
    found = state(ticket, when, contract).clock(metric)
    assert found is not None
    return found


SUSPENDED_10_TO_12 = contract_context((at(MON, "10:00:00"), at(MON, "12:00:00")))


def p2_ticket() -> Ticket:
    return Ticket().opened(at(MON, "09:00:00"), priority="P2")


def test_no_metric_accrues_while_suspended_and_the_due_instant_moves_out() -> None:
    ticket = p2_ticket()
    free = clock(ticket, at(MON, "13:00:00"), None)
    held = clock(ticket, at(MON, "13:00:00"), SUSPENDED_10_TO_12)
    assert (free.elapsed_seconds, free.due_at) == (4 * HOUR, utc(at(MON, "13:00:00")))
    assert held.elapsed_seconds == 2 * HOUR
    assert held.suspended_seconds == 2 * HOUR
    assert held.due_at == utc(at(MON, "15:00:00"))
    for metric in ("relief", "resolution"):
        other = clock(ticket, at(MON, "13:00:00"), SUSPENDED_10_TO_12, metric)
        assert other.suspended_seconds == 2 * HOUR


def test_response_is_held_even_while_awaiting_the_customer() -> None:
    ticket = p2_ticket().then("awaiting_customer", at(MON, "09:30:00"))
    response = clock(ticket, at(MON, "13:00:00"), SUSPENDED_10_TO_12)
    assert response.elapsed_seconds == 2 * HOUR
    assert response.suspended_seconds == 2 * HOUR
    # Relief was paused anyway: the suspension kept it from counting nothing.
    relief = clock(ticket, at(MON, "13:00:00"), SUSPENDED_10_TO_12, "relief")
    assert (relief.elapsed_seconds, relief.suspended_seconds) == (HOUR // 2, 0)
    assert [s.kind for s in relief.segments] == [SegmentKind.RUNNING, SegmentKind.PAUSED]


def test_the_ledger_shows_the_suspended_stretch() -> None:
    response = clock(p2_ticket(), at(MON, "13:00:00"), SUSPENDED_10_TO_12)
    kinds = [(s.kind, s.start, s.end, s.seconds, s.event_id) for s in response.segments]
    assert kinds == [
        (SegmentKind.RUNNING, utc(at(MON, "09:00:00")), utc(at(MON, "10:00:00")), HOUR, "e1"),
        (SegmentKind.SUSPENDED, utc(at(MON, "10:00:00")), utc(at(MON, "12:00:00")), 0, "s0"),
        (SegmentKind.RUNNING, utc(at(MON, "12:00:00")), utc(at(MON, "13:00:00")), HOUR, "r0"),
    ]


def test_suspended_seconds_are_business_seconds_on_the_metrics_calendar() -> None:
    overnight = contract_context((at(MON, "16:00:00"), at(TUE, "10:00:00")))
    response = clock(p2_ticket(), at(TUE, "11:00:00"), overnight)
    assert response.suspended_seconds == 2 * HOUR  # 16-17 Monday, 09-10 Tuesday
    assert response.elapsed_seconds == 7 * HOUR + HOUR
    # One suspended segment covers the night: the clock would not have counted it anyway.
    assert [s.kind for s in response.segments] == [
        SegmentKind.RUNNING,
        SegmentKind.SUSPENDED,
        SegmentKind.RUNNING,
    ]


def test_a_metric_cannot_breach_while_suspended() -> None:
    ticket = Ticket().opened(at(MON, "09:00:00"), priority="P1")  # response 1h
    held = contract_context((at(MON, "09:30:00"), None))
    response = clock(ticket, at(MON, "15:00:00"), held)
    assert (response.state, response.outcome) == (ClockState.PAUSED, Outcome.PENDING)
    assert (response.due_at, response.warn_at, response.at_risk) == (None, None, False)
    assert response.elapsed_seconds == HOUR // 2
    assert response.suspended_seconds == 5 * HOUR + HOUR // 2
    reinstated = contract_context((at(MON, "09:30:00"), at(MON, "15:00:00")))
    response = clock(ticket, at(MON, "15:00:00"), reinstated)
    assert response.state is ClockState.RUNNING
    assert response.due_at == utc(at(MON, "15:30:00"))


def test_a_raise_while_suspended_breaches_at_reinstatement() -> None:
    # P3 response is 8h; 2h accrued by 11:00; a raise to P1 (1h) at 12:00, while suspended.
    ticket = Ticket().opened(at(MON, "09:00:00")).priority("P1", at(MON, "12:00:00"))
    free = clock(ticket, at(MON, "13:00:00"), None)
    assert (free.outcome, free.breached_at) == (Outcome.BREACHED, utc(at(MON, "12:00:00")))
    held = contract_context((at(MON, "11:00:00"), at(MON, "14:00:00")))
    during = clock(ticket, at(MON, "13:59:59"), held)
    assert during.outcome is Outcome.PENDING
    after = clock(ticket, at(MON, "14:00:00"), held)
    assert (after.outcome, after.breached_at) == (Outcome.BREACHED, utc(at(MON, "14:00:00")))


def test_a_ticket_opened_during_a_suspension_starts_suspended() -> None:
    held = contract_context((at(MON, "08:00:00"), at(MON, "10:00:00")))
    response = clock(p2_ticket(), at(MON, "11:00:00"), held)
    assert response.elapsed_seconds == HOUR
    assert response.suspended_seconds == HOUR
    assert [(s.kind, s.event_id) for s in response.segments] == [
        (SegmentKind.SUSPENDED, "e1"),
        (SegmentKind.RUNNING, "r0"),
    ]


def test_a_suspension_before_the_opening_changes_nothing() -> None:
    ticket = p2_ticket().then("responded", at(MON, "10:30:00"))
    earlier = contract_context(("2026-02-27T10:00:00Z", at(MON, "09:00:00")))
    assert state(ticket, at(TUE, "12:00:00"), earlier) == state(ticket, at(TUE, "12:00:00"), None)


def test_a_stopped_clock_is_not_held() -> None:
    ticket = p2_ticket().then("responded", at(MON, "09:30:00"))
    response = clock(ticket, at(MON, "13:00:00"), SUSPENDED_10_TO_12)
    assert (response.outcome, response.suspended_seconds) == (Outcome.MET, 0)
    assert [s.kind for s in response.segments] == [SegmentKind.RUNNING, SegmentKind.STOPPED]


def test_a_reopening_during_a_suspension_runs_held() -> None:
    ticket = p2_ticket().then("resolved", at(MON, "09:30:00")).then("reopened", at(MON, "11:00:00"))
    resolution = clock(ticket, at(MON, "13:00:00"), SUSPENDED_10_TO_12, "resolution")
    assert resolution.elapsed_seconds == HOUR // 2 + HOUR
    assert resolution.suspended_seconds == HOUR  # 11:00-12:00, after the reopening


def test_a_suspension_at_the_instant_of_an_event_comes_first() -> None:
    ticket = p2_ticket().then("responded", at(MON, "10:00:00"))
    response = clock(ticket, at(MON, "13:00:00"), SUSPENDED_10_TO_12)
    assert (response.elapsed_seconds, response.suspended_seconds) == (HOUR, 0)
    assert response.outcome is Outcome.MET


# --- which calendar ------------------------------------------------------------

REGIONS = calendars(
    {
        "office": OFFICE,
        "new-york": calendar_doc("America/New_York"),
        "24x7-ish": calendar_doc("UTC", hours=[["00:00", "24:00"]]),
    }
)


def test_the_contracts_calendar_comes_before_the_plans() -> None:
    # New York is on EST until 8 March: open 14:00-22:00Z; the office closes at 17:00Z.
    ticket = Ticket().opened(at(MON, "17:30:00"), priority="P2")
    region = ContractContext("C-1", "new-york")
    found = state(ticket, at(MON, "18:30:00"), region, lookup=REGIONS).clocks[0]
    assert (found.calendar, found.elapsed_seconds) == ("new-york", HOUR)
    plain = state(ticket, at(MON, "18:30:00"), ContractContext("C-1"), lookup=REGIONS).clocks[0]
    assert (plain.calendar, plain.elapsed_seconds) == ("office", 0)


def test_the_plans_override_for_the_priority_comes_first() -> None:
    plan = policy(calendar_overrides={"P1": "24x7-ish"})
    ticket = Ticket().opened(at(MON, "23:00:00"), priority="P1")
    region = ContractContext("C-1", "new-york")
    found = state(ticket, at(MON, "23:30:00"), region, lookup=REGIONS, plan=plan).clocks[0]
    assert (found.calendar, found.elapsed_seconds) == ("24x7-ish", HOUR // 2)
    lowered = ticket.priority("P2", at(MON, "23:30:00"))
    later = state(lowered, at(TUE, "15:00:00"), region, lookup=REGIONS, plan=plan).clocks[0]
    assert (later.calendar, later.elapsed_seconds) == ("new-york", HOUR // 2 + HOUR)


def figures_of(ticket: Ticket, when: str, contract: ContractContext) -> dict[str, ClockFigures]:
    occurrences = [occurrence_of(event) for event in ticket.events]
    found = evaluate_figures(
        ticket.ticket_id,
        occurrences,
        policy(),
        DEFAULT_CALENDARS,
        to_us(utc(when)),
        contract=contract,
    )
    return {clock.metric: clock for clock in found.clocks}


def test_a_clock_held_outside_hours_counts_as_suspended_with_no_seconds() -> None:
    # Friday 6 March 18:00 to Monday 9 March 08:00: the office is closed throughout.
    weekend = contract_context(("2026-03-06T18:00:00Z", "2026-03-09T08:00:00Z"))
    ticket = Ticket().opened("2026-03-06T16:00:00Z", priority="P2")
    response = figures_of(ticket, "2026-03-09T10:00:00Z", weekend)["response"]
    assert (response.suspended, response.suspended_seconds) == (True, 0)
    # Relief was paused for the whole suspension: the suspension held nothing of it.
    paused = ticket.then("awaiting_customer", "2026-03-06T17:00:00Z")
    relief = figures_of(paused, "2026-03-09T10:00:00Z", weekend)["relief"]
    assert relief.suspended is False
    current = contract_context(("2026-03-09T09:30:00Z", None))
    held_now = figures_of(ticket, "2026-03-09T09:30:00Z", current)["response"]
    assert (held_now.suspended, held_now.suspended_seconds) == (True, 0)


def test_a_suspension_that_starts_as_the_last_one_ends_holds_on() -> None:
    back_to_back = contract_context(
        (at(MON, "10:00:00"), at(MON, "11:00:00")), (at(MON, "11:00:00"), at(MON, "12:00:00"))
    )
    response = clock(p2_ticket(), at(MON, "13:00:00"), back_to_back)
    assert (response.elapsed_seconds, response.suspended_seconds) == (2 * HOUR, 2 * HOUR)
