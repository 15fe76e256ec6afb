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
    ContractContext,
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
from domain.opening import figures_at_opening
from domain.policy import METRICS, Policy
from domain.versions import Version

__all__ = [
    "Clock",
    "ClockFigures",
    "ClockState",
    "ContractContext",
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
    "replayed_figures",
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
    contract: ContractContext | None = None,
) -> TicketState:
    """The ticket's state and clocks as of ``at``, from its events with ``occurred_at <= at``.

    ``events`` come in recorded order; they are replayed in ``occurred_at``
    order, ties in recorded order. ``with_segments=False`` skips the ledgers
    (projections need no segments), which changes nothing else. ``contract``
    is the bound contract's calendar and suspensions (None: bound to none).
    Raises NotFound when the ticket was not opened by ``at``.
    """
    occurrences = [occurrence_of(event) for event in events]
    replay = _replay(
        ticket_id,
        occurrences,
        policy,
        calendars,
        to_us(at),
        with_segments=with_segments,
        contract=contract,
    )
    return replay.state(at)


def evaluate_figures(
    ticket_id: str,
    occurrences: Sequence[Occurrence],
    policy: Version[Policy],
    calendars: Callable[[str], CalendarTimeline],
    at_us: int,
    *,
    contract: ContractContext | None = None,
) -> TicketFigures:
    """``evaluate`` without segments, in epoch microseconds from end to end: the same
    replay, answered as the ledgers hold it (what the projections store).

    A ticket whose only event is its opening, evaluated at that instant (a new
    ticket, for the live projection), is answered without a replay: the answer is
    the same (``domain.opening``), for a fraction of the work.
    """
    if len(occurrences) == 1:
        opened = occurrences[0]
        if opened.type is EventType.OPENED and opened.occurred_us == at_us:
            check_evaluable(ticket_id, at_us, at_us)
            calendar = None if contract is None else contract.calendar
            held = _suspended_at(contract, at_us) is not None
            return figures_at_opening(opened, policy, _Calendars(calendars), calendar, held)
    return replayed_figures(ticket_id, occurrences, policy, calendars, at_us, contract=contract)


def replayed_figures(
    ticket_id: str,
    occurrences: Sequence[Occurrence],
    policy: Version[Policy],
    calendars: Callable[[str], CalendarTimeline],
    at_us: int,
    *,
    contract: ContractContext | None = None,
) -> TicketFigures:
    """``evaluate_figures`` by the replay, whatever the events (what its shortcut must equal)."""
    replay = _replay(
        ticket_id, occurrences, policy, calendars, at_us, with_segments=False, contract=contract
    )
    return replay.figures(at_us)


def occurrence_of(event: TicketEvent) -> Occurrence:
    return Occurrence(
        event.type,
        to_us(event.occurred_at),
        event.originator_version,
        event.event_id,
        event.data,
        event.sequence,
    )


def _replay(
    ticket_id: str,
    occurrences: Sequence[Occurrence],
    policy: Version[Policy],
    calendars: Callable[[str], CalendarTimeline],
    at_us: int,
    *,
    with_segments: bool,
    contract: ContractContext | None,
) -> _Replay:
    ordered = _replay_order(occurrences, at_us)
    if not ordered or ordered[0].type is not EventType.OPENED:
        at = from_us(at_us).isoformat()
        raise NotFound(f"ticket {ticket_id!r} was not opened by {at}")
    opened = ordered[0]
    check_evaluable(ticket_id, opened.occurred_us, at_us)
    replay = _Replay(ticket_id, opened, policy, _Calendars(calendars), with_segments)
    replay.bind(contract)
    if contract is None or not contract.suspensions:
        for occurrence in ordered[1:]:
            replay.apply(occurrence)
        return replay
    # Suspension boundaries join the replay: one at the instant of an event comes first.
    boundaries = _boundaries(contract, opened.occurred_us, at_us)
    for occurrence in ordered[1:]:
        while boundaries and boundaries[-1][0] <= occurrence.occurred_us:
            replay.boundary(*boundaries.pop())
        replay.apply(occurrence)
    while boundaries:
        replay.boundary(*boundaries.pop())
    return replay


def _boundaries(contract: ContractContext, opened_us: int, at_us: int) -> list[_Boundary]:
    """The suspensions' starts and ends in (opened, at], latest first (popped from the end)."""
    found: list[_Boundary] = []
    for start, end, suspended_by, reinstated_by in contract.suspensions:
        if opened_us < start <= at_us:
            found.append((start, True, suspended_by))
        if end is not None and opened_us < end <= at_us:
            found.append((end, False, reinstated_by or suspended_by))
    # Stable by instant: a reinstatement and the next suspension at one instant keep order.
    found.sort(key=lambda boundary: boundary[0])
    found.reverse()
    return found


def _suspended_at(contract: ContractContext | None, instant_us: int) -> str | None:
    """The suspending event's id when the contract is suspended at ``instant_us``."""
    if contract is None:
        return None
    for start, end, suspended_by, _ in contract.suspensions:
        if start <= instant_us and (end is None or instant_us < end):
            return suspended_by
    return None


def _replay_order(occurrences: Sequence[Occurrence], at_us: int) -> list[Occurrence]:
    """Events up to ``at`` by occurred_at; nothing before the opening counts.

    At equal occurred_at, events with a ``sequence`` come first, in sequence order,
    then the others in recorded (version) order: a sequence ranks below every version.
    """
    ordered = sorted((o for o in occurrences if o.occurred_us <= at_us), key=_replay_key)
    opened = next((i for i, o in enumerate(ordered) if o.type is EventType.OPENED), None)
    return [] if opened is None else ordered[opened:]


def _replay_key(occurrence: Occurrence) -> tuple[int, int]:
    sequence = occurrence.sequence
    tie = occurrence.version if sequence is None else sequence - _SEQUENCED_FIRST
    return occurrence.occurred_us, tie


_SEQUENCED_FIRST = 2**64  # sequences are below 2**63, versions are positive


_Boundary = tuple[int, bool, str]  # (instant µs, suspension starts, the contract event's id)


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
        self.calendars, self.with_segments = calendars, with_segments
        # A bound opened event records the contract's calendar at its opening; the
        # contract's own events, when the caller passes them (bind), have the last word.
        recorded = opened.data.get("calendar")
        self.contract_calendar: str | None = recorded if isinstance(recorded, str) else None
        self.ledgers = self._open_ledgers(opened, calendars, with_segments)

    def bind(self, contract: ContractContext | None) -> None:
        """Open on the contract's calendar; held from the opening if it is suspended then."""
        if contract is None:
            return
        if contract.calendar is not None:
            self.contract_calendar = contract.calendar
            self.ledgers = self._open_ledgers(self.opened, self.calendars, self.with_segments)
        if _suspended_at(contract, self.opened.occurred_us) is not None:
            for ledger in self.ledgers:
                ledger.suspended = True

    def boundary(self, at: int, starts: bool, event_id: str) -> None:
        """A suspension of the contract starts or ends at ``at`` (closed tickets too)."""
        for ledger in self.ledgers:
            if starts:
                ledger.suspend(at, event_id)
            else:
                ledger.reinstate(at, event_id)

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
        return self.policy.calendar_for(self.priority, self.contract_calendar)

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
