"""A ticket's evaluated state as table rows: the ticket row and one row per clock.

A ticket is evaluated at the instant of its latest event (its greatest
``occurred_at``), never at the wall clock: the rows are then a pure function of
the log, so a rebuild reproduces them exactly. A ticket bound to a contract
whose suspensions start or end after that, and that still has a clock going,
is evaluated at the latest such instant instead: a suspension holds clocks
with no ticket event, so it must be in the row (a held clock has no due
instant, so it cannot breach at query time). What happens later with no event
(a due instant passing) is decided at query time from ``due_at``/``warn_at``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from domain.business_time import DAY_US
from domain.clock_model import ClockFigures, ClockState, Occurrence, Outcome, TicketFigures
from domain.clocks import evaluate_figures
from domain.contract_timeline import ContractClockFacts
from domain.events import EventType
from domain.policy import Policy
from domain.versions import Version
from projections.catalog import ProjectionCatalog
from projections.facts import SEQUENCE, Fact, dumps
from projections.openings import opening_rows

log = logging.getLogger(__name__)

Row = dict[str, Any]
SummaryKey = tuple[str, str, str, int]  # plan, priority, metric, opened_day
# Counters per key: met, breached, pending, and suspended (held at some point, also
# counted in one of the first three); then, for the SLA gauges, the clocks of open
# tickets that breach at some instant (``breach_from_us`` set) and the running clocks
# that do (``running_due_us`` set): which of them have breached by "now" is decided at
# query time by subtracting the few still ahead of it (projections/reads/sla_gauges.py).
_SUSPENDED, _OPEN_BREACH, _RUNNING = 3, 4, 5
COUNTERS = 6
OPEN_STATUSES = ("open", "awaiting_customer")
_OCCURRED, _TYPE = 2, 0
_EVENT_TYPES = {kind.value: kind for kind in EventType}
_OPENED = EventType.OPENED.value


TICKET_COLUMNS = (
    "ticket_id", "plan", "policy_version", "priority", "customer", "kind", "status",
    "opened_at_us", "last_event_at_us", "event_count", "last_position", "settled_at_us", "facts",
    "contract",
)  # fmt: skip
CLOCK_COLUMNS = (
    "ticket_id", "metric", "plan", "priority", "customer", "status", "opened_at_us", "calendar",
    "state", "outcome", "target_seconds", "elapsed_seconds", "started_at_us", "due_at_us",
    "warn_at_us", "breached_at_us", "stopped_at_us", "evaluated_at_us", "running_due_us",
    "breach_from_us", "suspended_seconds", "suspended",
)  # fmt: skip


@dataclass(frozen=True)
class TicketRows:
    ticket: Row
    clocks: list[Row]


def clock_values(
    ticket: Row, state: TicketFigures, clock: ClockFigures, at_us: int
) -> tuple[Any, ...]:
    """A clock's row as values in ``CLOCK_COLUMNS`` order (what a bulk insert takes).

    Enum members become their values by ``str`` (they are StrEnums): ``.value`` is a
    Python-level property, and this runs for every clock the follower evaluates.
    """
    (metric, calendar, clock_state, outcome, _, target, elapsed, started, due, warn, stopped,
     breached, suspended_seconds, suspended) = clock  # fmt: skip
    running = clock_state is ClockState.RUNNING and outcome is Outcome.PENDING
    running_due = due if running else None
    breached_at = breached if outcome is Outcome.BREACHED else None
    return (
        ticket["ticket_id"],
        metric,
        ticket["plan"],
        state.priority,
        state.customer,
        str(state.status),
        state.opened_us,
        calendar,
        str(clock_state),
        str(outcome),
        target,
        elapsed,
        started,
        due,
        warn,
        breached_at,
        stopped,
        at_us,  # the ticket's latest event, or its contract's latest suspension boundary
        running_due,
        breached_at if breached_at is not None else running_due,
        suspended_seconds,
        int(suspended),
    )


def settled_at(state: TicketFigures) -> int | None:
    """None while a clock still runs or is paused; else the last instant it depends on."""
    for clock in state.clocks:
        if clock.state is not ClockState.STOPPED:
            return None
    instants = [state.opened_us]
    for clock in state.clocks:
        instants.extend(i or 0 for i in (clock.stopped_us, clock.due_us, clock.warn_us))
    return max(instants)


def occurrences(facts: list[Fact]) -> list[Occurrence]:
    """Facts as the evaluator reads them: no event objects, no datetimes."""
    try:
        return [
            Occurrence(_EVENT_TYPES[kind], occurred, version, event_id, data)
            for kind, event_id, occurred, _recorded, version, data in facts
        ]
    except ValueError:  # too many values to unpack: some fact has a sequence
        # Tickets without one (most) keep the plain unpacking, which is faster.
        return [_with_sequence(fact) for fact in facts]


def _with_sequence(fact: Fact) -> Occurrence:
    sequence = fact[SEQUENCE] if len(fact) > SEQUENCE else None
    return Occurrence(_EVENT_TYPES[fact[0]], fact[2], fact[4], fact[1], fact[5], sequence)


def _ticket_row(ticket_id: str, facts: list[Fact], position: int, at_us: int) -> Row:
    opened = facts[0]
    data = opened[5]
    return {
        "ticket_id": ticket_id,
        "plan": str(data["plan"]),
        "policy_version": None,
        "priority": data.get("priority"),
        "customer": data.get("customer"),
        "kind": data.get("kind"),
        "status": "open",
        "opened_at_us": int(opened[_OCCURRED]),
        "last_event_at_us": at_us,
        "event_count": len(facts),
        "last_position": position,
        "settled_at_us": None,
        "facts": dumps(facts),
        "contract": data.get("contract"),
    }


def evaluate_ticket(
    ticket_id: str, facts: list[Fact], position: int, catalog: ProjectionCatalog
) -> TicketRows | None:
    """The rows of one ticket; None when it has no ``opened`` fact (never accepted)."""
    evaluated = _evaluate(ticket_id, facts, position, catalog)
    if evaluated is None:
        return None
    row, clocks = evaluated
    return TicketRows(row, [dict(zip(CLOCK_COLUMNS, values, strict=True)) for values in clocks])


def evaluate_ticket_rows(
    ticket_id: str, facts: list[Fact], position: int, catalog: ProjectionCatalog
) -> tuple[Row, list[tuple[Any, ...]]] | None:
    """``evaluate_ticket`` with the clock rows as values in ``CLOCK_COLUMNS`` order (what the
    follower compares with the stored rows and writes, with no dict per clock)."""
    return _evaluate(ticket_id, facts, position, catalog)


def evaluate_ticket_values(
    ticket_id: str, facts: list[Fact], position: int, catalog: ProjectionCatalog
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]] | None:
    """``evaluate_ticket`` as values in ``TICKET_COLUMNS`` / ``CLOCK_COLUMNS`` order."""
    evaluated = _evaluate(ticket_id, facts, position, catalog)
    if evaluated is None:
        return None
    row, clocks = evaluated
    return tuple(row[c] for c in TICKET_COLUMNS), clocks


def _evaluate(
    ticket_id: str, facts: list[Fact], position: int, catalog: ProjectionCatalog
) -> tuple[Row, list[tuple[Any, ...]]] | None:
    if not facts or facts[0][_TYPE] != _OPENED:
        log.warning("ticket %r has events but no opening; it is left out", ticket_id)
        return None
    if len(facts) == 1 and (opening := opening_rows(ticket_id, facts, position, catalog)):
        return opening
    return general_rows(ticket_id, facts, position, catalog)


def general_rows(
    ticket_id: str, facts: list[Fact], position: int, catalog: ProjectionCatalog
) -> tuple[Row, list[tuple[Any, ...]]]:
    """The rows of a ticket with an opening, from its evaluated figures, whatever its facts
    (what ``opening_rows`` must equal where it answers)."""
    at_us = max(int(fact[_OCCURRED]) for fact in facts)
    row = _ticket_row(ticket_id, facts, position, at_us)
    policy = catalog.policy_at_us(row["plan"], row["opened_at_us"])
    if policy is None:
        # The write side refuses such an opening; a later policy version with an
        # earlier effective_from re-evaluates this ticket.
        return row, []
    contract = None if row["contract"] is None else catalog.contract_facts(row["contract"])
    if contract is None:
        state = evaluate_figures(ticket_id, occurrences(facts), policy, catalog.timeline, at_us)
    else:
        state, at_us = _evaluate_bound(
            ticket_id, facts, policy, catalog, contract=contract, at_us=at_us
        )
    row.update(
        policy_version=state.policy_version,
        priority=state.priority,
        customer=state.customer,
        kind=state.kind,
        status=str(state.status),
        settled_at_us=settled_at(state),
    )
    return row, [clock_values(row, state, clock, at_us) for clock in state.clocks]


def _evaluate_bound(
    ticket_id: str,
    facts: list[Fact],
    policy: Version[Policy],
    catalog: ProjectionCatalog,
    *,
    contract: ContractClockFacts,
    at_us: int,
) -> tuple[TicketFigures, int]:
    """The state of a ticket bound to ``contract``, and the instant it was evaluated at.

    At the latest event, unless a suspension starts or ends later while a clock
    is still going: then at that last boundary (a settled ticket stays at its
    last event, so later suspensions need not touch it). Only events stop
    clocks, so a ticket settled at the boundary was settled at its last event:
    one evaluation at the boundary decides which instant applies.
    """
    context = contract.context(int(facts[0][_OCCURRED]))
    replayed = occurrences(facts)
    boundary = contract.last_boundary_us
    if boundary is not None and boundary > at_us:
        later = evaluate_figures(
            ticket_id, replayed, policy, catalog.timeline, boundary, contract=context
        )
        if settled_at(later) is None:
            return later, boundary
    state = evaluate_figures(ticket_id, replayed, policy, catalog.timeline, at_us, contract=context)
    return state, at_us


_OUTCOME_INDEX = {Outcome.MET.value: 0, Outcome.BREACHED.value: 1, Outcome.PENDING.value: 2}
_SUMMARY_COLUMNS = (
    "plan", "priority", "metric", "opened_at_us", "outcome", "suspended", "status",
    "breach_from_us", "running_due_us",
)  # fmt: skip
_PICK = itemgetter(*(CLOCK_COLUMNS.index(name) for name in _SUMMARY_COLUMNS))


def _count(total: dict[SummaryKey, list[int]], values: Sequence[Any], sign: int) -> list[int]:
    """Add one clock (its ``_SUMMARY_COLUMNS``) to the counters, times ``sign``."""
    plan, priority, metric, opened, outcome, held, status, breach_from, running_due = values
    key: SummaryKey = (plan, priority or "", metric, opened // DAY_US)
    counts = total.get(key)
    if counts is None:
        counts = total[key] = [0] * COUNTERS
    counts[_OUTCOME_INDEX[outcome]] += sign
    counts[_SUSPENDED] += sign * held
    counts[_OPEN_BREACH] += sign * (breach_from is not None and status in OPEN_STATUSES)
    counts[_RUNNING] += sign * (running_due is not None)
    return counts


def count_outcomes(
    total: dict[SummaryKey, list[int]], clocks: Sequence[tuple[Any, ...]], sign: int = 1
) -> None:
    """Add clock rows given as values (``CLOCK_COLUMNS`` order) to compliance counters
    (``sign=-1``: take them away)."""
    for values in clocks:
        _count(total, _PICK(values), sign)


def value_deltas(
    old: Sequence[tuple[Any, ...]], new: Sequence[tuple[Any, ...]]
) -> dict[SummaryKey, list[int]]:
    """How the compliance counters move from ``old`` clock rows to ``new`` ones, given as
    values (``CLOCK_COLUMNS`` order)."""
    deltas: dict[SummaryKey, list[int]] = {}
    count_outcomes(deltas, old, -1)
    count_outcomes(deltas, new)
    return {key: counts for key, counts in deltas.items() if any(counts)}


def add_deltas(total: dict[SummaryKey, list[int]], more: dict[SummaryKey, list[int]]) -> None:
    for key, counts in more.items():
        into = total.setdefault(key, [0] * COUNTERS)
        for i, count in enumerate(counts):
            into[i] += count


_CLOCK_TICKET = CLOCK_COLUMNS.index("ticket_id")
_CLOCK_METRIC = CLOCK_COLUMNS.index("metric")
Values = tuple[Any, ...]  # a clock row as values in CLOCK_COLUMNS order


def clock_changes(
    before: Sequence[Values], changed: Sequence[Values], removed: Sequence[Values]
) -> Iterator[tuple[Values | None, Values | None]]:
    """Each changed clock (before, after), made only if the observer reads them: with no
    webhook subscription it does not, and making them was 7% of the live follower's time."""
    previous_of = {(v[_CLOCK_TICKET], v[_CLOCK_METRIC]): v for v in before}
    for values in changed:
        yield previous_of.get((values[_CLOCK_TICKET], values[_CLOCK_METRIC])), values
    for values in removed:
        yield values, None


@dataclass
class RowDiff:
    """What a write changes: rows new to the tables, rows rewritten, clocks removed."""

    new_tickets: list[Row] = field(default_factory=list)
    tickets: list[Row] = field(default_factory=list)
    new_clocks: list[Values] = field(default_factory=list)
    changed: list[Values] = field(default_factory=list)
    before: list[Values] = field(default_factory=list)  # the changed clocks as they were
    removed: list[Values] = field(default_factory=list)


def row_diff(
    results: Sequence[tuple[str, Row, list[Values]]],
    current: dict[str, Row] | None,
    old_clocks: dict[str, list[Values]],
    stored: Collection[str] | None,
) -> RowDiff:
    diff = RowDiff()
    for ticket_id, ticket, clocks in results:
        if stored is not None and ticket_id not in stored:
            diff.new_tickets.append(ticket)
        elif current is None or current.get(ticket_id) != ticket:
            diff.tickets.append(ticket)
        old = {values[_CLOCK_METRIC]: values for values in old_clocks.get(ticket_id, ())}
        for values in clocks:
            previous = old.pop(values[_CLOCK_METRIC], None)
            if previous is None:
                diff.new_clocks.append(values)
            elif previous != values:
                diff.changed.append(values)
                diff.before.append(previous)
        diff.removed.extend(old.values())
    return diff
