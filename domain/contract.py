"""A contract's state, replayed from its events, and the write-side rules on it.

``ContractState`` is what the writer keeps per contract (like ``TicketHead``
for tickets) and what reads replay from the events known at ``as_known_at``:
the event ids recorded (for idempotent retries), the terms, the plan, calendar
and grants over time, the renewal notices and early ends, the suspension marks,
and every work entry with running totals per allowance and term, so that a
new entry is checked without replaying the contract.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from domain.allowance_spec import Allowance, parse_allowances
from domain.contract_events import (
    ContractEvent,
    ContractEventType,
    ContractStarted,
    SlaReinstated,
    SlaSuspended,
)
from domain.contract_terms import Term, contract_end, parse_term
from domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from domain.idempotency import Duplicate, retry_of

T = ContractEventType
_TICK = timedelta(microseconds=1)
_UNKNOWN = object()


class NewContractEvent(NamedTuple):
    """A validated command to record one contract event."""

    contract_id: str
    event_id: str
    type: ContractEventType
    occurred_at: datetime
    data: dict[str, Any]
    fingerprint: str


class Change(NamedTuple):
    """From ``at`` on, the contract is on ``plan`` and ``calendar`` and grants ``granted``."""

    at: datetime
    version: int
    plan: str
    calendar: str | None
    granted: dict[str, Allowance]


@dataclass
class Entry:
    """One ``work_logged``; ``retracted_at`` is when its retraction was recorded."""

    event_id: str
    allowance: str
    amount: Decimal
    onsite: bool
    occurred_at: datetime
    recorded_at: datetime
    term: int | None
    retracted_at: datetime | None = None


def granted_of(data: dict[str, Any]) -> dict[str, Allowance]:
    """The resolved grants the writer stored in a start or amendment (``granted``)."""
    errors: list[FieldError] = []
    found = parse_allowances(data.get("granted", []), "granted", errors)
    return {a.id: a for a in found}


@dataclass
class ContractState:
    contract_id: str
    version: int = 0
    recorded: dict[str, tuple[str, int]] = field(default_factory=dict)
    customer: str = ""
    started_at: datetime | None = None
    term: Term | None = None
    own_allowances: list[dict[str, Any]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    cancellations: list[datetime] = field(default_factory=list)
    endings: list[datetime] = field(default_factory=list)
    marks: list[tuple[datetime, int, bool]] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)
    # (allowance, term) -> [used, onsite_used] of entries not retracted, whenever they occurred.
    totals: dict[tuple[str, int], list[Decimal]] = field(default_factory=dict)
    _end: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._end = _UNKNOWN

    @classmethod
    def replay(cls, contract_id: str, events: Iterable[ContractEvent]) -> ContractState:
        state = cls(contract_id)
        for event in events:
            state.apply(event)
        return state

    @property
    def started(self) -> bool:
        return self.started_at is not None

    def apply(self, event: ContractEvent) -> None:
        self._end = _UNKNOWN
        self.recorded[event.event_id] = (event.fingerprint, event.originator_version)
        self.version = max(self.version, event.originator_version)
        kind, data, at = event.type, event.data, event.occurred_at
        if isinstance(event, ContractStarted):
            self._start(event)
        elif kind is T.AMENDED:
            self.own_allowances = list(data.get("allowances", self.own_allowances))
            last = self.plan_change_at(at)
            change = Change(
                at,
                event.originator_version,
                str(data.get("plan", last.plan)),
                data.get("calendar", last.calendar),
                granted_of(data),
            )
            bisect.insort(self.changes, change, key=lambda c: (c.at, c.version))
        elif kind is T.RENEWAL_CANCELLED:
            self.cancellations.append(at)
        elif kind is T.ENDED:
            self.endings.append(at)
        elif isinstance(event, SlaSuspended | SlaReinstated):
            mark = (at, event.originator_version, isinstance(event, SlaSuspended))
            bisect.insort(self.marks, mark)
        elif kind is T.WORK_LOGGED:
            self._log(event)
        elif kind is T.WORK_RETRACTED:
            self._retract(str(data["event_id"]), event.timestamp)

    def _start(self, event: ContractStarted) -> None:
        data = event.data
        self.customer = str(data["customer"])
        self.started_at = event.occurred_at
        errors: list[FieldError] = []
        self.term = parse_term(data["term"], "term", errors)
        self.own_allowances = list(data.get("allowances", []))
        calendar = data.get("calendar")
        self.changes = [
            Change(
                event.occurred_at,
                event.originator_version,
                str(data["plan"]),
                None if calendar is None else str(calendar),
                granted_of(data),
            )
        ]

    def _log(self, event: ContractEvent) -> None:
        data = event.data
        entry = Entry(
            event.event_id,
            str(data["allowance"]),
            Decimal(str(data["amount"])),
            bool(data.get("onsite", False)),
            event.occurred_at,
            event.timestamp,
            None if self.term is None else self.term.index_at(event.occurred_at),
        )
        self.entries[entry.event_id] = entry
        self._count(entry, 1)

    def _retract(self, event_id: str, recorded_at: datetime) -> None:
        entry = self.entries.get(event_id)
        if entry is not None and entry.retracted_at is None:
            entry.retracted_at = recorded_at
            self._count(entry, -1)

    def _count(self, entry: Entry, sign: int) -> None:
        if entry.term is None:
            return
        totals = self.totals.setdefault((entry.allowance, entry.term), [Decimal(0), Decimal(0)])
        totals[0] += sign * entry.amount
        if entry.onsite:
            totals[1] += sign * entry.amount

    # --- what the contract says at an instant -------------------------------

    def end_at(self) -> datetime | None:
        """When the contract ends (None while it renews for ever)."""
        assert self.term is not None
        if self._end is _UNKNOWN:
            # Asked for every ticket bound to the contract: computed once per change.
            self._end = contract_end(self.term, self.cancellations, self.endings)
        return self._end  # type: ignore[return-value]

    def in_effect_at(self, instant: datetime) -> bool:
        if self.started_at is None or instant < self.started_at:
            return False
        end = self.end_at()
        return end is None or instant < end

    def plan_change_at(self, instant: datetime) -> Change:
        """The terms in force at ``instant`` (the first ones before the start)."""
        current = self.changes[0]
        for change in self.changes[1:]:
            if change.at > instant:
                break
            current = change
        return current

    def suspended_at(self, instant: datetime) -> bool:
        suspended = False
        for at, _, suspends in self.marks:
            if at > instant:
                break
            suspended = suspends
        return suspended

    def term_at(self, instant: datetime) -> int | None:
        """The term containing ``instant`` while the contract is in effect, else None."""
        if self.term is None or not self.in_effect_at(instant):
            return None
        return self.term.index_at(instant)

    def term_bounds(self, k: int) -> tuple[datetime, datetime]:
        """Term ``k``'s start and end, the end cut short by an early end."""
        assert self.term is not None
        end = self.term.boundary(k + 1)
        ends = self.end_at()
        return self.term.boundary(k), end if ends is None else min(end, ends)

    def grants_for_term(self, k: int, instant: datetime) -> dict[str, Allowance]:
        """What term ``k`` grants as seen at ``instant`` (at most its last instant)."""
        _, end = self.term_bounds(k)
        return self.plan_change_at(min(instant, end - _TICK)).granted


# --- the write-side rules -----------------------------------------------------


def check_retry(state: ContractState, command: NewContractEvent) -> Duplicate | None:
    return retry_of(state.recorded, command.event_id, command.fingerprint)


def check_order(state: ContractState, command: NewContractEvent) -> None:
    if command.type is T.STARTED:
        if state.version > 0:
            raise Conflict(f"contract {state.contract_id!r} is already started")
        _check_term_reaches(command)
        return
    if state.started_at is None:
        raise NotFound(f"contract {state.contract_id!r} was never started")
    if command.occurred_at < state.started_at:
        raise ValidationFailed.single(
            "occurred_at", "is before the contract's start; an event cannot precede it"
        )
    if command.type is T.ENDED and state.endings:
        raise Conflict(f"contract {state.contract_id!r} has already ended")
    if command.type is T.WORK_RETRACTED:
        _check_retraction(state, str(command.data["event_id"]))


def _check_term_reaches(command: NewContractEvent) -> None:
    """A contract whose terms are all over before it starts would never be in effect."""
    term = parse_term(command.data["term"], "data.term", [])
    end = None if term is None else contract_end(term, [], [])
    if end is not None and end <= command.occurred_at:
        raise ValidationFailed.single("data.term", "ends before the contract's occurred_at")


def _check_retraction(state: ContractState, event_id: str) -> None:
    entry = state.entries.get(event_id)
    if entry is None:
        raise ValidationFailed.single(
            "data.event_id", f"{event_id!r} is not a work_logged of contract {state.contract_id!r}"
        )
    if entry.retracted_at is not None:
        raise Conflict(f"work_logged {event_id!r} is already retracted")
