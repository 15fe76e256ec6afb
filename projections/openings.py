"""A new ticket's rows straight from its opening: most of what a live projection evaluates.

A ticket whose only fact is its opening, evaluated at that instant, has running
clocks with nothing accrued (``domain.opening``): each is a goal and two
``add_us`` away from its row. The general path (``projections.rows``) builds
the ticket's figures (named tuples, enum members) and then turns them into
rows; here the rows are built directly from the same domain functions, in
about half the CPU (docs/projections.md, "New tickets").

Anything else returns None and the general path answers, with its errors: a
ticket bound to a contract (its calendar and suspensions apply), an instant
outside the range evaluated, a plan with no version in effect, a calendar with
no version. tests/integration/test_opening_rows.py holds both paths to the same rows.
"""

from __future__ import annotations

from typing import Any

from domain.business_time import US, CalendarTimeline
from domain.calendar import ALWAYS_OPEN_ID
from domain.clock_model import ClockState, Outcome, TicketStatus
from domain.events import EventType
from domain.instants import EARLIEST_US, END_US
from domain.opening import opening_terms, running_from
from domain.policy import Policy
from projections.catalog import ProjectionCatalog
from projections.facts import Fact, dumps

_TYPE, _OCCURRED, _DATA = 0, 2, 5
_OPENED = EventType.OPENED.value
_OPEN, _RUNNING, _PENDING = TicketStatus.OPEN.value, ClockState.RUNNING.value, Outcome.PENDING.value


def opening_rows(
    ticket_id: str, facts: list[Fact], position: int, catalog: ProjectionCatalog
) -> tuple[dict[str, Any], list[tuple[Any, ...]]] | None:
    """The ticket row and clock rows (``CLOCK_COLUMNS`` order) of a ticket whose only
    fact is its opening; None when the general path must answer."""
    opened = facts[0]
    if len(facts) != 1 or opened[_TYPE] != _OPENED:
        return None
    data, at = opened[_DATA], int(opened[_OCCURRED])
    if data.get("contract") is not None or not EARLIEST_US <= at < END_US:
        return None
    named = data.get("plan")
    policy = None if named is None else catalog.policy_at_us(str(named), at)
    if policy is None:
        return None
    priority, calendar = opening_terms(policy.value, data)
    customer = data.get("customer")
    # The columns every clock row begins with, and the ticket row's too.
    ticket = (ticket_id, str(named), priority, None if customer is None else str(customer))
    clocks = _clocks(ticket, policy.value, catalog, calendar, at)
    if clocks is None:
        return None
    row = _ticket_row(
        ticket, policy.number, data, at=at, position=position, facts=facts, settled=not clocks
    )
    return row, clocks


def _clocks(
    ticket: tuple[str, str, str, str | None],
    plan: Policy,
    catalog: ProjectionCatalog,
    calendar: str,
    at: int,
) -> list[tuple[Any, ...]] | None:
    """Each running clock's row; None where the calendar has no version."""
    if not plan.metrics:
        return []
    timeline = _timeline(catalog, calendar)
    if timeline is None:
        return None
    ticket_id, plan_id, priority, customer = ticket
    clocks = []
    for name, metric in plan.metrics.items():
        target = metric.targets.get(priority)
        if target is not None:
            goal, due, warn_at = running_from(timeline, target, plan.warning_fraction, at)
            clocks.append(
                (ticket_id, name, plan_id, priority, customer, _OPEN, at, calendar, _RUNNING,
                 _PENDING, goal // US, 0, at, due, warn_at, None, None, at, due, due, 0, 0)
            )  # fmt: skip
    return clocks


def _ticket_row(
    ticket: tuple[str, str, str, str | None],
    policy_version: int,
    data: dict[str, Any],
    *,
    at: int,
    position: int,
    facts: list[Fact],
    settled: bool,
) -> dict[str, Any]:
    """The ticket row, its keys in ``TICKET_COLUMNS`` order as the general path makes them."""
    ticket_id, plan_id, priority, customer = ticket
    return {
        "ticket_id": ticket_id,
        "plan": plan_id,
        "policy_version": policy_version,
        "priority": priority,
        "customer": customer,
        "kind": str(data.get("kind", "incident")),
        "status": _OPEN,
        "opened_at_us": at,
        "last_event_at_us": at,
        "event_count": 1,
        "last_position": position,
        "settled_at_us": at if settled else None,  # with no clock, settled at the opening
        "facts": dumps(facts),
        "contract": None,
    }


def _timeline(catalog: ProjectionCatalog, calendar: str) -> CalendarTimeline | None:
    """The timeline the general path would use; None where its lookup fails (or, for a
    log that somehow defines the built-in ``24x7``, where it would not use the log's)."""
    defined = bool(catalog.calendars.get(calendar))
    if defined == (calendar == ALWAYS_OPEN_ID):
        return None
    return catalog.timeline(calendar)
