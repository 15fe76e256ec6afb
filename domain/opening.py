"""A ticket evaluated at the instant of its opening, when the opening is its only event.

This is most evaluations a live projection makes (each new ticket arrives with
its ``opened`` event), and the replay's answer then needs no ledger: with no
time accrued, a clock with a target runs from the opening, pending, its due and
warning instants one ``add_us`` each away; one held by a suspension in force at
the opening is paused with neither. ``figures_at_opening`` gives exactly what
the general replay (``domain.clocks.replayed_figures``) gives, down to the
exceptions a missing calendar raises: tests/unit/test_clock_opening.py compares
the two on random policies, openings and contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.business_time import US, CalendarTimeline
from domain.clock_model import (
    ClockFigures,
    ClockState,
    Occurrence,
    Outcome,
    TicketFigures,
    TicketStatus,
)
from domain.ledger import thresholds
from domain.policy import WORKING_DAYS, Policy, Target
from domain.versions import Version


def figures_at_opening(
    opened: Occurrence,
    policy: Version[Policy],
    calendars: Callable[[str], CalendarTimeline],
    contract_calendar: str | None,
    held: bool,
) -> TicketFigures:
    """The ticket's figures at ``opened.occurred_us``, its opening being its only event.

    ``contract_calendar``: the bound contract's calendar (None: the one the opening
    recorded applies); ``held``: a suspension of the contract is in force at the opening.
    """
    plan, data, at = policy.value, opened.data, opened.occurred_us
    priority, calendar = opening_terms(plan, data)
    if plan.metrics and contract_calendar is not None:
        # The replay opens its ledgers on the recorded calendar before the contract's
        # replaces it: that lookup fails alike here.
        calendars(calendar)
        calendar = plan.calendar_for(priority, contract_calendar)
    timeline = calendars(calendar) if plan.metrics else None
    clocks = []
    for name, metric in plan.metrics.items():
        target = metric.targets.get(priority)
        if target is None or timeline is None:
            continue
        fraction = plan.warning_fraction
        clocks.append(_clock(name, calendar, timeline, target, fraction=fraction, at=at, held=held))
    customer = data.get("customer")
    return TicketFigures(
        policy.number,
        priority,
        None if customer is None else str(customer),
        str(data.get("kind", "incident")),
        TicketStatus.OPEN,
        at,
        tuple(clocks),
    )


def opening_terms(plan: Policy, data: Mapping[str, Any]) -> tuple[str, str]:
    """The priority an opening sets and the calendar it names (before any contract's)."""
    priority = plan.initial_priority(data)
    recorded = data.get("calendar")
    return priority, plan.calendar_for(priority, recorded if isinstance(recorded, str) else None)


def running_from(
    timeline: CalendarTimeline, target: Target, fraction: float, at: int
) -> tuple[int, int | None, int | None]:
    """A clock started at ``at`` with nothing accrued: its goal in business µs, and its due
    and warning instants (None: not before the horizon)."""
    hours = timeline.hours_per_working_day_at_us(at) if target.unit == WORKING_DAYS else 0.0
    goal, warn = thresholds(target, hours, fraction)
    return goal, timeline.add_us(at, goal), at if warn <= 0 else timeline.add_us(at, warn)


def _clock(
    metric: str,
    calendar: str,
    timeline: CalendarTimeline,
    target: Target,
    *,
    fraction: float,
    at: int,
    held: bool,
) -> ClockFigures:
    """One clock at its opening: nothing accrued, so nothing breached or at risk yet
    (a target is at least a second; a warning threshold of zero is reached at once)."""
    if held:
        hours = timeline.hours_per_working_day_at_us(at) if target.unit == WORKING_DAYS else 0.0
        goal = thresholds(target, hours, fraction)[0]
        state, due, warn_at = ClockState.PAUSED, None, None
    else:
        state = ClockState.RUNNING
        goal, due, warn_at = running_from(timeline, target, fraction, at)
    return ClockFigures(
        metric,
        calendar,
        state,
        Outcome.PENDING,
        False,
        goal // US,
        0,
        at,
        due,
        warn_at,
        None,
        None,
        0,
        held,
    )
