"""The clock evaluator: a ticket's events, its policy and calendars in, its clocks out.

``evaluate`` is a pure function: the same events, policy version, calendar
versions and instant ``at`` always give the same answer, to the microsecond.
It never reads a clock of its own; "now" is whatever ``at`` the caller passes.
The rules are those of ``sla-semantics.md``; the choices it leaves open are
listed, each with the test that pins it, in ``docs/semantics.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache

from domain.business_time import CalendarTimeline, from_us, to_us
from domain.calendar import ALWAYS_OPEN_ID
from domain.clock_model import (
    Clock,
    ClockFigures,
    ClockState,
    Occurrence,
    Outcome,
    Segment,
    SegmentKind,
    TicketFigures,
    TicketState,
    TicketStatus,
)
from domain.errors import NotFound
from domain.events import EventType, TicketEvent
from domain.instants import check_evaluable
from domain.ledger import MetricLedger
from domain.policy import METRICS, Policy
from domain.versions import Version

__all__ = [
    "Clock",
    "ClockFigures",
    "ClockState",
    "Occurrence",
    "Outcome",
    "Segment",
    "SegmentKind",
    "TicketFigures",
    "TicketState",
    "TicketStatus",
    "evaluate",
    "evaluate_figures",
    "occurrence_of",
]

# Which metrics each event stops (closed stops everything still going).
_STOPS = {
    EventType.RESPONDED: ("response",),
    EventType.RELIEVED: ("response", "relief"),
    EventType.RESOLVED: METRICS,
    EventType.CLOSED: METRICS,
}


def evaluate(
    ticket_id: str,
    events: Sequence[TicketEvent],
    policy: Version[Policy],
    calendars: Callable[[str], CalendarTimeline],
    at: datetime,
    *,
    with_segments: bool = True,
) -> TicketState:
    """The ticket's state and clocks as of ``at``, from its events with ``occurred_at <= at``.

    ``events`` come in recorded order; they are replayed in ``occurred_at``
    order, ties in recorded order. ``with_segments=False`` skips the ledgers
    (projections need no segments), which changes nothing else. Raises
    NotFound when the ticket was not opened by ``at``.
    """
    occurrences = [occurrence_of(event) for event in events]
    replay = _replay(
        ticket_id, occurrences, policy, calendars, to_us(at), with_segments=with_segments
    )
    return replay.state(at)


def evaluate_figures(
    ticket_id: str,
    occurrences: Sequence[Occurrence],
    policy: Version[Policy],
    calendars: Callable[[str], CalendarTimeline],
    at_us: int,
) -> TicketFigures:
    """``evaluate`` without segments, in epoch microseconds from end to end: the same
    replay, answered as the ledgers hold it (what the projections store)."""
    replay = _replay(ticket_id, occurrences, policy, calendars, at_us, with_segments=False)
    return replay.figures(at_us)


def occurrence_of(event: TicketEvent) -> Occurrence:
    return Occurrence(
        event.type, to_us(event.occurred_at), event.originator_version, event.event_id, event.data
    )


def _replay(
    ticket_id: str,
    occurrences: Sequence[Occurrence],
    policy: Version[Policy],
    calendars: Callable[[str], CalendarTimeline],
    at_us: int,
    *,
    with_segments: bool,
) -> _Replay:
    ordered = _replay_order(occurrences, at_us)
    if not ordered or ordered[0].type is not EventType.OPENED:
        at = from_us(at_us).isoformat()
        raise NotFound(f"ticket {ticket_id!r} was not opened by {at}")
    check_evaluable(ticket_id, ordered[0].occurred_us, at_us)
    replay = _Replay(ticket_id, ordered[0], policy, _Calendars(calendars), with_segments)
    for occurrence in ordered[1:]:
        replay.apply(occurrence)
    return replay


def _replay_order(occurrences: Sequence[Occurrence], at_us: int) -> list[Occurrence]:
    """Events up to ``at`` by occurred_at, ties by version; nothing before the opening counts."""
    ordered = sorted(
        (o for o in occurrences if o.occurred_us <= at_us),
        key=lambda o: (o.occurred_us, o.version),
    )
    opened = next((i for i, o in enumerate(ordered) if o.type is EventType.OPENED), None)
    return [] if opened is None else ordered[opened:]


@cache
def _always_open() -> CalendarTimeline:
    return CalendarTimeline.always_open()


class _Calendars:
    """The caller's calendar lookup, asked once per id per evaluation; ``24x7`` is built in."""

    def __init__(self, lookup: Callable[[str], CalendarTimeline]) -> None:
        self._lookup = lookup
        self._known: dict[str, CalendarTimeline] = {}

    def __call__(self, calendar_id: str) -> CalendarTimeline:
        timeline = self._known.get(calendar_id)
        if timeline is None:
            is_24x7 = calendar_id == ALWAYS_OPEN_ID
            timeline = _always_open() if is_24x7 else self._lookup(calendar_id)
            self._known[calendar_id] = timeline
        return timeline


class _Replay:
    """The ticket as its events are applied one by one, in replay order."""

    def __init__(
        self,
        ticket_id: str,
        opened: Occurrence,
        policy: Version[Policy],
        calendars: _Calendars,
        with_segments: bool,
    ) -> None:
        self.ticket_id = ticket_id
        self.opened = opened
        self.policy = policy.value
        self.policy_version = policy.number
        self.priority = self.policy.initial_priority(opened.data)
        self.awaiting = self.resolved = self.closed = False
        self.ledgers = self._open_ledgers(opened, calendars, with_segments)

    def _open_ledgers(
        self, opened: Occurrence, calendars: _Calendars, with_segments: bool
    ) -> list[MetricLedger]:
        ledgers = []
        at, fraction = opened.occurred_us, self.policy.warning_fraction
        for name, metric in self.policy.metrics.items():
            ledger = MetricLedger(
                name, metric.pause_when_awaiting_customer, fraction, calendars, with_segments
            )
            target = self.policy.target_for(name, self.priority)
            ledger.open(at, opened.event_id, self.priority, target, self._calendar())
            ledgers.append(ledger)
        return ledgers

    def _calendar(self) -> str:
        # An opened event bound to a contract records the contract's calendar at opening.
        return self.policy.calendar_for(self.priority, self.opened.data.get("calendar"))

    def apply(self, event: Occurrence) -> None:
        kind, at, event_id = event.type, event.occurred_us, event.event_id
        if self.closed and kind is not EventType.REOPENED:
            return  # a closed ticket changes no more until it is reopened
        if kind is EventType.PRIORITY_CHANGED:
            self._change_priority(at, event_id, str(event.data.get("priority", self.priority)))
        elif kind is EventType.AWAITING_CUSTOMER and not self.awaiting:
            self.awaiting = True
            for ledger in self.ledgers:
                ledger.pause(at, event_id)
        elif kind is EventType.CUSTOMER_REPLIED and self.awaiting:
            self.awaiting = False
            for ledger in self.ledgers:
                ledger.resume(at, event_id)
        elif kind is EventType.REOPENED and (self.resolved or self.closed):
            self._reopen(at, event_id)
        elif kind in _STOPS:
            self._stop(kind, at, event_id)

    def _change_priority(self, at: int, event_id: str, priority: str) -> None:
        if priority == self.priority:
            return  # no new target, no new calendar: nothing to record
        self.priority = priority
        for ledger in self.ledgers:
            target = self.policy.target_for(ledger.metric, priority)
            ledger.change_priority(at, event_id, priority, target, self._calendar())

    def _stop(self, kind: EventType, at: int, event_id: str) -> None:
        stops = _STOPS[kind]
        for ledger in self.ledgers:
            if ledger.metric in stops:
                ledger.stop(at, event_id)
        self.resolved = self.resolved or kind is EventType.RESOLVED
        self.closed = kind is EventType.CLOSED

    def _reopen(self, at: int, event_id: str) -> None:
        """Back to open: resolution runs again, under the ticket's priority as it is now."""
        self.awaiting = self.resolved = self.closed = False
        for ledger in self.ledgers:
            if ledger.metric != "resolution":
                continue
            ledger.restart(at, event_id)
            if ledger.priority != self.priority:
                target = self.policy.target_for(ledger.metric, self.priority)
                ledger.change_priority(at, event_id, self.priority, target, self._calendar())

    def status(self) -> TicketStatus:
        if self.closed:
            return TicketStatus.CLOSED
        if self.resolved:
            return TicketStatus.RESOLVED
        if self.awaiting:
            return TicketStatus.AWAITING_CUSTOMER
        return TicketStatus.OPEN

    def state(self, at: datetime) -> TicketState:
        at_us = to_us(at)
        clocks = (ledger.clock(at_us) for ledger in self.ledgers)
        data = self.opened.data
        customer = data.get("customer")
        return TicketState(
            ticket_id=self.ticket_id,
            plan=str(data["plan"]),
            policy_version=self.policy_version,
            priority=self.priority,
            customer=None if customer is None else str(customer),
            kind=str(data.get("kind", "incident")),
            status=self.status(),
            opened_at=from_us(self.opened.occurred_us),
            evaluated_at=at.astimezone(UTC),
            clocks=tuple(clock for clock in clocks if clock is not None),
        )

    def figures(self, at_us: int) -> TicketFigures:
        clocks = (ledger.figures(at_us) for ledger in self.ledgers)
        customer = self.opened.data.get("customer")
        return TicketFigures(
            self.policy_version,
            self.priority,
            None if customer is None else str(customer),
            str(self.opened.data.get("kind", "incident")),
            self.status(),
            self.opened.occurred_us,
            tuple(clock for clock in clocks if clock is not None),
        )
