"""The write-side rules of a ticket: what a new event may do, given what is recorded.

``TicketHead`` is the little the writer must know about a ticket to accept or
refuse an event without loading and replaying it: its version, its opening, its
plan, and the event ids it has recorded (for idempotent retries).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from domain.errors import Conflict, NotFound, ValidationFailed
from domain.events import EventType, TicketEvent, TicketOpened
from domain.idempotency import Duplicate, retry_of


class NewTicketEvent(NamedTuple):
    """A validated command to record one event (a named tuple: one is made per event)."""

    ticket_id: str
    event_id: str
    type: EventType
    occurred_at: datetime
    data: dict[str, object]
    fingerprint: str
    sequence: int | None = None


@dataclass
class TicketHead:
    ticket_id: str
    version: int = 0
    opened_at: datetime | None = None
    plan: str | None = None
    recorded: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Where in the log and when each version was stored, once known: a retry is then
    # answered with its first answer without reading the ticket's history again.
    stored: dict[int, tuple[int, datetime]] = field(default_factory=dict)

    @classmethod
    def replay(cls, ticket_id: str, events: Iterable[TicketEvent]) -> TicketHead:
        head = cls(ticket_id)
        for event in events:
            head.record(event.event_id, event.fingerprint, event.originator_version)
            if isinstance(event, TicketOpened):
                head.opened_at = event.occurred_at
                head.plan = str(event.data["plan"])
        return head

    def record(self, event_id: str, fingerprint: str, version: int) -> None:
        self.recorded[event_id] = (fingerprint, version)
        self.version = max(self.version, version)


def check_retry(head: TicketHead, command: NewTicketEvent) -> Duplicate | None:
    """A retry with the same body is answered with the first answer; another body is a conflict."""
    return retry_of(head.recorded, command.event_id, command.fingerprint)


def check_order(head: TicketHead, command: NewTicketEvent) -> None:
    """The rules on a ticket's lifecycle that need nothing but its head."""
    if command.type is EventType.OPENED:
        if head.version > 0:
            raise Conflict(f"ticket {head.ticket_id!r} is already opened")
        return
    if head.version == 0 or head.opened_at is None:
        raise NotFound(f"ticket {head.ticket_id!r} was never opened")
    if command.occurred_at < head.opened_at:
        raise ValidationFailed.single(
            "occurred_at", "is before the ticket's opened event; an event cannot precede it"
        )
