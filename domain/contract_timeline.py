"""What a contract says at each instant: its plan, its calendar, and when its SLA is suspended.

Built from the contract's events (the caller applies ``as_known_at`` first);
everything here is replayed in ``occurred_at`` order, ties in recorded order
(version), so a late event lands where it belongs.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from domain.business_time import to_us
from domain.clock_model import ContractContext, SuspensionUs
from domain.contract_events import (
    ContractAmended,
    ContractEvent,
    ContractEventType,
    ContractStarted,
    SlaReinstated,
    SlaSuspended,
)


class Suspension(NamedTuple):
    """A stretch during which the contract's SLA is suspended; ``end`` None while it lasts."""

    start: datetime
    end: datetime | None
    event_id: str


@dataclass(frozen=True)
class ContractTimeline:
    contract_id: str
    customer: str
    started_at: datetime
    # (from, plan, calendar) in replay order: each amendment's terms hold from its instant.
    terms: tuple[tuple[datetime, str, str | None], ...]
    suspensions: tuple[Suspension, ...]
    # The sla_reinstated event id ending each suspension (None while it lasts).
    reinstated_by: tuple[str | None, ...] = ()

    @classmethod
    def from_events(cls, events: Sequence[ContractEvent]) -> ContractTimeline | None:
        """None when no ``contract_started`` is among the events."""
        ordered = sorted(events, key=lambda e: (e.occurred_at, e.originator_version))
        started = next((e for e in ordered if isinstance(e, ContractStarted)), None)
        if started is None:
            return None
        return cls(
            started.contract_id,
            str(started.data["customer"]),
            started.occurred_at,
            _terms(started, ordered),
            _suspensions(ordered),
            tuple(s.reinstated_by for s in _suspensions_us(_occurrences(ordered))),
        )

    def plan_at(self, instant: datetime) -> str:
        return self._terms_at(instant)[1]

    def calendar_at(self, instant: datetime) -> str | None:
        """The contract's own calendar (the customer's region) at ``instant``, if it names one."""
        return self._terms_at(instant)[2]

    def suspended_at(self, instant: datetime) -> bool:
        return any(
            s.start <= instant and (s.end is None or instant < s.end) for s in self.suspensions
        )

    def clock_context(self, opened_at: datetime) -> ContractContext:
        """``clock_context`` of the events: what a ticket opened at ``opened_at`` runs on."""
        suspensions = tuple(
            SuspensionUs(to_us(s.start), None if s.end is None else to_us(s.end), s.event_id, r)
            for s, r in zip(self.suspensions, self.reinstated_by, strict=True)
        )
        return ContractContext(self.contract_id, self.calendar_at(opened_at), suspensions)

    def _terms_at(self, instant: datetime) -> tuple[datetime, str, str | None]:
        # Before the start the first terms apply: a ticket cannot bind before it anyway.
        current = self.terms[0]
        for terms in self.terms[1:]:
            if terms[0] > instant:
                break
            current = terms
        return current


def _terms(
    started: ContractStarted, ordered: Sequence[ContractEvent]
) -> tuple[tuple[datetime, str, str | None], ...]:
    plan = str(started.data["plan"])
    calendar = _optional(started.data.get("calendar"))
    terms = [(started.occurred_at, plan, calendar)]
    for event in ordered:
        if isinstance(event, ContractAmended) and event.occurred_at >= started.occurred_at:
            plan = str(event.data.get("plan", plan))
            calendar = _optional(event.data.get("calendar", calendar))
            terms.append((event.occurred_at, plan, calendar))
    return tuple(terms)


def _occurrences(ordered: Sequence[ContractEvent]) -> list[ContractOccurrence]:
    return [contract_occurrence_of(event) for event in ordered]


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _suspensions(ordered: Sequence[ContractEvent]) -> tuple[Suspension, ...]:
    """Suspended/reinstated pairs; a second suspension while suspended changes nothing."""
    found: list[Suspension] = []
    open_since: ContractEvent | None = None
    for event in ordered:
        if isinstance(event, SlaSuspended) and open_since is None:
            open_since = event
        elif isinstance(event, SlaReinstated) and open_since is not None:
            found.append(Suspension(open_since.occurred_at, event.occurred_at, open_since.event_id))
            open_since = None
    if open_since is not None:
        found.append(Suspension(open_since.occurred_at, None, open_since.event_id))
    return tuple(found)


# --- epoch microseconds: what the clock evaluator and the projections read -------------


class ContractOccurrence(NamedTuple):
    """What a ticket's clocks read of a contract event; its instant in epoch microseconds.

    Projections keep these as compact facts (only the types below matter to clocks).
    """

    type: ContractEventType
    occurred_us: int
    version: int
    event_id: str
    calendar: str | None  # the calendar it names (started/amended), else None
    names_calendar: bool  # whether its data has the ``calendar`` key at all


CLOCK_EVENT_TYPES = frozenset(
    {
        ContractEventType.STARTED,
        ContractEventType.AMENDED,
        ContractEventType.SLA_SUSPENDED,
        ContractEventType.SLA_REINSTATED,
    }
)


def contract_occurrence_of(event: ContractEvent) -> ContractOccurrence:
    calendar = event.data.get("calendar")
    return ContractOccurrence(
        event.type,
        to_us(event.occurred_at),
        event.originator_version,
        event.event_id,
        _optional(calendar),
        "calendar" in event.data,
    )


def clock_context(
    contract_id: str, occurrences: Sequence[ContractOccurrence], opened_us: int
) -> ContractContext | None:
    """The calendar (at ``opened_us``) and suspensions a ticket bound to the contract runs on.

    The same rules as ``ContractTimeline``: replay in occurred order, ties by
    version; None when the contract was never started.
    """
    clock_facts = ContractClockFacts.of(contract_id, occurrences)
    return None if clock_facts is None else clock_facts.context(opened_us)


@dataclass(frozen=True)
class ContractClockFacts:
    """A contract's calendars by instant and its suspensions, derived once for many tickets."""

    contract_id: str
    calendar_from: tuple[int, ...]  # µs: where each calendar in ``calendars`` starts to hold
    calendars: tuple[str | None, ...]
    suspensions: tuple[SuspensionUs, ...]

    @classmethod
    def of(
        cls, contract_id: str, occurrences: Sequence[ContractOccurrence]
    ) -> ContractClockFacts | None:
        ordered = sorted(
            (o for o in occurrences if o.type in CLOCK_EVENT_TYPES),
            key=lambda o: (o.occurred_us, o.version),
        )
        started = next((o for o in ordered if o.type is ContractEventType.STARTED), None)
        if started is None:
            return None
        starts, calendars = [started.occurred_us], [started.calendar]
        for o in ordered:
            amends = o.type is ContractEventType.AMENDED and o.names_calendar
            if amends and o.occurred_us >= started.occurred_us:
                starts.append(o.occurred_us)
                calendars.append(o.calendar)
        return cls(contract_id, tuple(starts), tuple(calendars), _suspensions_us(ordered))

    def context(self, opened_us: int) -> ContractContext:
        # Before the start the first terms apply: a ticket cannot bind before it anyway.
        index = max(0, bisect_right(self.calendar_from, opened_us) - 1)
        return ContractContext(self.contract_id, self.calendars[index], self.suspensions)

    @property
    def last_boundary_us(self) -> int | None:
        """The latest instant a suspension starts or ends (None: never suspended)."""
        if not self.suspensions:
            return None
        last = self.suspensions[-1]
        return last.start_us if last.end_us is None else last.end_us


def _suspensions_us(ordered: Sequence[ContractOccurrence]) -> tuple[SuspensionUs, ...]:
    found: list[SuspensionUs] = []
    open_since: ContractOccurrence | None = None
    for o in ordered:
        if o.type is ContractEventType.SLA_SUSPENDED and open_since is None:
            open_since = o
        elif o.type is ContractEventType.SLA_REINSTATED and open_since is not None:
            found.append(
                SuspensionUs(open_since.occurred_us, o.occurred_us, open_since.event_id, o.event_id)
            )
            open_since = None
    if open_since is not None:
        found.append(SuspensionUs(open_since.occurred_us, None, open_since.event_id, None))
    return tuple(found)
