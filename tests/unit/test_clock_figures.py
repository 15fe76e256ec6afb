"""``evaluate_figures`` (epoch microseconds, what projections store) against ``evaluate``.

Both replay the same ledgers; these properties pin that the figures and the
datetimes they become never drift apart, whatever the history and the instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_time import from_us, to_us
from domain.clock_model import Clock, ClockFigures
from domain.clocks import evaluate, evaluate_figures, occurrence_of
from domain.errors import NotFound
from domain.policy import parse_policy
from domain.versions import Version
from tests.unit.builders import (
    PROPERTY_CALENDARS,
    PROPERTY_POLICY_DOC,
    RECORDING_START,
    Ticket,
    histories,
)

PLAN = Version(1, None, RECORDING_START, parse_policy(PROPERTY_POLICY_DOC))


def _instant(instant_us: int | None) -> datetime | None:
    return None if instant_us is None else from_us(instant_us)


def assert_same_clock(figures: ClockFigures, clock: Clock) -> None:
    assert (figures.metric, figures.calendar) == (clock.metric, clock.calendar)
    assert (figures.state, figures.outcome, figures.at_risk) == (
        clock.state,
        clock.outcome,
        clock.at_risk,
    )
    assert (figures.target_seconds, figures.elapsed_seconds) == (
        clock.target_seconds,
        clock.elapsed_seconds,
    )
    assert from_us(figures.started_us) == clock.started_at
    assert _instant(figures.due_us) == clock.due_at
    assert _instant(figures.warn_us) == clock.warn_at
    assert _instant(figures.stopped_us) == clock.stopped_at
    assert _instant(figures.breached_us) == clock.breached_at


@settings(max_examples=300, deadline=None)
@given(histories(max_events=10), st.integers(-60, 8 * 1440))
def test_figures_are_the_evaluated_state_in_microseconds(ticket: Ticket, minutes: int) -> None:
    at = ticket.events[0].occurred_at + timedelta(minutes=minutes, microseconds=minutes * 7)
    occurrences = [occurrence_of(event) for event in ticket.events]
    try:
        state = evaluate(ticket.ticket_id, ticket.events, PLAN, PROPERTY_CALENDARS, at)
    except NotFound:
        with pytest.raises(NotFound):
            evaluate_figures(ticket.ticket_id, occurrences, PLAN, PROPERTY_CALENDARS, to_us(at))
        return
    figures = evaluate_figures(ticket.ticket_id, occurrences, PLAN, PROPERTY_CALENDARS, to_us(at))
    assert (figures.policy_version, figures.priority, figures.customer, figures.kind) == (
        state.policy_version,
        state.priority,
        state.customer,
        state.kind,
    )
    assert figures.status is state.status
    assert from_us(figures.opened_us) == state.opened_at
    assert len(figures.clocks) == len(state.clocks)
    for clock_figures, clock in zip(figures.clocks, state.clocks, strict=True):
        assert_same_clock(clock_figures, clock)


def test_an_opening_in_another_offset_is_the_same_instant() -> None:
    ticket = Ticket().opened("2026-03-02T10:00:00+01:00").then("responded", "2026-03-02T09:30:00Z")
    occurrences = [occurrence_of(event) for event in ticket.events]
    assert occurrences[0].occurred_us == to_us(datetime(2026, 3, 2, 9, tzinfo=UTC))
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    figures = evaluate_figures(ticket.ticket_id, occurrences, PLAN, PROPERTY_CALENDARS, to_us(at))
    state = evaluate(ticket.ticket_id, ticket.events, PLAN, PROPERTY_CALENDARS, at)
    assert from_us(figures.opened_us) == state.opened_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    response = next(c for c in figures.clocks if c.metric == "response")
    assert response.stopped_us == to_us(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
