"""A new clock's mark made directly gives what ``transition`` gives (the outbox's fast path)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.webhooks.transitions import ClockView, transition
from projections.rows import CLOCK_COLUMNS
from projections.webhooks.outbox import mark_values, new_pending_mark

SUBJECT = ("ticket_id", "metric", "plan", "priority", "customer")
instants = st.one_of(st.none(), st.integers(min_value=0, max_value=2**53))


def _clock(due: int | None, warn: int | None, customer: str | None) -> tuple[Any, ...]:
    given_values = {
        "ticket_id": "T-1",
        "metric": "response",
        "plan": "gold",
        "priority": "P2",
        "customer": customer,
        "outcome": "pending",
        "running_due_us": due,
        "warn_at_us": warn,
    }
    return tuple(given_values.get(name) for name in CLOCK_COLUMNS)


def _by_transition(values: tuple[Any, ...], now_us: int) -> tuple[Any, ...] | None:
    view = ClockView(
        values[CLOCK_COLUMNS.index("outcome")],
        values[CLOCK_COLUMNS.index("running_due_us")],
        values[CLOCK_COLUMNS.index("warn_at_us")],
    )
    kinds, mark = transition(None, view, None, now_us)
    assert kinds == []  # a new clock neither met nor breached announces nothing
    subject = [values[CLOCK_COLUMNS.index(name)] for name in SUBJECT]
    return None if mark is None else mark_values(subject, mark)


@given(
    due=instants,
    warn=instants,
    now=st.integers(min_value=0, max_value=2**53),
    customer=st.one_of(st.none(), st.text(max_size=5)),
)
def test_a_new_pending_clocks_mark_is_the_one_transition_makes(
    due: int | None, warn: int | None, now: int, customer: str | None
) -> None:
    values = _clock(due, warn, customer)
    assert new_pending_mark(values) == _by_transition(values, now)


def test_a_running_clock_schedules_its_earlier_instant_and_a_paused_one_nothing() -> None:
    running = new_pending_mark(_clock(due=2_000, warn=1_500, customer="acme"))
    assert running == ("T-1", "response", "gold", "P2", "acme", 0, 0, 1_500, 2_000, 1_500)
    assert new_pending_mark(_clock(due=None, warn=1_500, customer=None)) is None
