"""What the clock evaluator answers: a ticket's state and its clocks, as of one instant.

Every field of the HTTP contract is here (``GET /v1/tickets/{id}`` and the
segments endpoint); the outer layers only format them. Instants are aware UTC
datetimes at full precision: the wire format truncates them to whole seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from domain.events import EventType


class TicketStatus(StrEnum):
    OPEN = "open"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Outcome(StrEnum):
    PENDING = "pending"
    MET = "met"
    BREACHED = "breached"


class SegmentKind(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    OUTSIDE_HOURS = "outside_hours"
    STOPPED = "stopped"
    # The contract's SLA was suspended while the clock would have run (docs/semantics.md).
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of a clock's ledger: ``seconds`` of business time counted on ``calendar``.

    ``event_id`` is the event that began the enclosing stretch (the opening, a
    pause, a resume, a priority change, a stop or a reopening); a running
    stretch is split into ``running`` and ``outside_hours`` pieces that share it.
    """

    start: datetime
    end: datetime
    kind: SegmentKind
    seconds: int
    calendar: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Clock:
    metric: str
    calendar: str
    state: ClockState
    outcome: Outcome
    at_risk: bool
    target_seconds: int
    elapsed_seconds: int
    remaining_seconds: int
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    segments: tuple[Segment, ...] = ()
    # Business seconds, on the metric's calendar, that a suspension kept it from counting.
    suspended_seconds: int = 0


@dataclass(frozen=True, slots=True)
class TicketState:
    ticket_id: str
    plan: str
    policy_version: int
    priority: str
    customer: str | None
    kind: str
    status: TicketStatus
    opened_at: datetime
    evaluated_at: datetime
    clocks: tuple[Clock, ...]

    def clock(self, metric: str) -> Clock | None:
        return next((c for c in self.clocks if c.metric == metric), None)


class Occurrence(NamedTuple):
    """What the evaluator reads of a ticket event; its instant in epoch microseconds.

    Projections hold their events as compact facts and evaluate them as these,
    without building event objects or datetimes.
    """

    type: EventType
    occurred_us: int
    version: int
    event_id: str
    data: Mapping[str, Any]
    sequence: int | None = None


class ClockFigures(NamedTuple):
    """A clock as its ledger holds it, instants in epoch microseconds; ``Clock`` is built
    from these, and the projections store them as they are."""

    metric: str
    calendar: str
    state: ClockState
    outcome: Outcome
    at_risk: bool
    target_seconds: int
    elapsed_seconds: int
    started_us: int
    due_us: int | None
    warn_us: int | None
    stopped_us: int | None
    breached_us: int | None
    suspended_seconds: int = 0
    # Whether a suspension held it at some instant up to the evaluation (even for no
    # business time): what the compliance report counts as ``suspended``.
    suspended: bool = False


class TicketFigures(NamedTuple):
    """A ticket's evaluated state in epoch microseconds (``TicketState`` without datetimes)."""

    policy_version: int
    priority: str
    customer: str | None
    kind: str
    status: TicketStatus
    opened_us: int
    clocks: tuple[ClockFigures, ...]


class SuspensionUs(NamedTuple):
    """A stretch of a contract's suspension in epoch microseconds; ``end_us`` None while it lasts.

    ``suspended_by`` and ``reinstated_by`` are the contract events' ids: they
    begin the ledger stretches that the suspension starts and ends.
    """

    start_us: int
    end_us: int | None
    suspended_by: str
    reinstated_by: str | None


@dataclass(frozen=True, slots=True)
class ContractContext:
    """What a ticket's contract adds to its clocks: a calendar and suspensions.

    ``calendar`` is the contract's calendar at the ticket's opening (used when
    the plan has no override for the priority); ``suspensions`` are ordered
    and disjoint, and apply instant by instant whatever the ticket's opening.
    """

    contract_id: str
    calendar: str | None = None
    suspensions: tuple[SuspensionUs, ...] = ()
