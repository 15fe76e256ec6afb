"""Outages of a service: the write-side rules of its events, and the outages they make.

Service events are decided and replayed in ``occurred_at`` order (ties in
recorded order, the version), so a late event is checked against the outage
state at its own instant and lands where it belongs:
- a start while an outage is open at its instant is a conflict (409);
- an end while none is open at its instant is a conflict (409), except an end
  before the start of the outage open now, which can never be right (422);
- the same ``event_id`` with the same body is a retry, with another body 409.
Late events can still leave two starts or two ends in a row (an outage posted
late into a gap, one event at a time). The replay reads such a history
forgivingly: a start while open and an end while closed change nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from domain.errors import Conflict, ValidationFailed
from domain.idempotency import retry_of
from domain.service_events import NewServiceEvent, OutageStarted, ServiceEvent, ServiceEventType

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(instant: datetime) -> int:
    """Microseconds since the epoch: exact, unlike a float timestamp."""
    return (instant - EPOCH) // MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class Outage(NamedTuple):
    """One outage; ``end`` None while it lasts."""

    start: datetime
    end: datetime | None
    started_by: str
    ended_by: str | None


class Transition(NamedTuple):
    occurred_us: int
    version: int
    starts: bool


@dataclass
class ServiceHead:
    """What the writer must know of a service to accept or refuse an event."""

    service_id: str
    version: int = 0
    recorded: dict[str, tuple[str, int]] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)

    @classmethod
    def replay(cls, service_id: str, events: Iterable[ServiceEvent]) -> ServiceHead:
        head = cls(service_id)
        for event in events:
            head.record(event.event_id, event.fingerprint, event.originator_version)
            head.place(
                event.occurred_at, event.originator_version, isinstance(event, OutageStarted)
            )
        return head

    def record(self, event_id: str, fingerprint: str, version: int) -> None:
        self.recorded[event_id] = (fingerprint, version)
        self.version = max(self.version, version)

    def place(self, occurred_at: datetime, version: int, starts: bool) -> None:
        bisect.insort(self.transitions, Transition(micros(occurred_at), version, starts))

    def open_at(self, instant: datetime) -> bool:
        """Whether an outage is open just after every event recorded at or before ``instant``."""
        # After any start the service is down, after any end it is up (see the module doc).
        index = bisect.bisect_right(self.transitions, (micros(instant), float("inf")))
        return index > 0 and self.transitions[index - 1].starts


def check_retry(head: ServiceHead, command: NewServiceEvent) -> int | None:
    """The version of the first recording of a retried event, or None for a new event."""
    retry = retry_of(head.recorded, command.event_id, command.fingerprint)
    return None if retry is None else retry.version


def check_transition(head: ServiceHead, command: NewServiceEvent) -> None:
    """Refuse a start while an outage is open at its instant, or an end while none is."""
    is_open = head.open_at(command.occurred_at)
    if command.type is ServiceEventType.OUTAGE_STARTED:
        if is_open:
            raise Conflict(
                f"service {head.service_id!r} has an outage open at {command.occurred_at}"
            )
        return
    if is_open:
        return
    newest = head.transitions[-1] if head.transitions else None
    if newest is not None and newest.starts and micros(command.occurred_at) < newest.occurred_us:
        raise ValidationFailed.single(
            "occurred_at", "is before the start of the open outage; an end cannot precede it"
        )
    raise Conflict(f"service {head.service_id!r} has no outage open at {command.occurred_at}")


def outages_of(events: Iterable[ServiceEvent]) -> list[Outage]:
    """The outages a service's events make, in order; only the last may be open."""
    found: list[Outage] = []
    opened: ServiceEvent | None = None
    for event in sorted(events, key=lambda e: (e.occurred_at, e.originator_version)):
        if isinstance(event, OutageStarted):
            opened = opened or event
        elif opened is not None:
            found.append(
                Outage(opened.occurred_at, event.occurred_at, opened.event_id, event.event_id)
            )
            opened = None
    if opened is not None:
        found.append(Outage(opened.occurred_at, None, opened.event_id, None))
    return found
