"""Contract events and bound tickets written straight into the event store, for tests.

The contract write endpoint lives on another branch; these build the stored
events it writes (aggregate ``contract_uuid(id)``, versions from 1) and the
``opened`` events of tickets bound to a contract (``data`` holds ``contract``
and the resolved ``plan``), so the clock side can be tested end to end now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.contract_events import (
    CONTRACT_CLASS_OF_TYPE,
    ContractEvent,
    ContractEventType,
    contract_uuid,
)
from domain.events import TicketEvent
from service.storage.eventstore import EventStore
from tests.unit.builders import make_event, utc


class ContractWriter:
    """Appends one contract's events in recorded order (``recorded_at`` defaults to now)."""

    def __init__(self, store: EventStore, contract_id: str) -> None:
        self.store = store
        self.contract_id = contract_id
        self.version = 0

    def event(self, kind: str, at: str, recorded_at: datetime | None = None, **data: Any) -> str:
        """Store one event and return its event id."""
        self.version += 1
        event_id = f"{self.contract_id}-c{self.version}"
        cls = CONTRACT_CLASS_OF_TYPE[ContractEventType(kind)]
        event: ContractEvent = cls(
            originator_id=contract_uuid(self.contract_id),
            originator_version=self.version,
            timestamp=recorded_at or datetime.now(UTC),
            contract_id=self.contract_id,
            event_id=event_id,
            occurred_at=utc(at),
            data=data,
            fingerprint=f"test-{kind}-{self.version}",
        )
        self.store.append([event])
        return event_id


def bound_ticket(
    store: EventStore,
    ticket_id: str,
    plan: str,
    contract: str | None,
    opened_at: str,
    *more: tuple[str, str, dict[str, Any]],
) -> None:
    """Store a ticket opened on ``plan`` (bound to ``contract`` when given), then ``more``."""
    data: dict[str, Any] = {"plan": plan, "kind": "incident"}
    if contract is not None:
        data["contract"] = contract
    now = datetime.now(UTC)
    events: list[TicketEvent] = [
        make_event(ticket_id, 1, "opened", utc(opened_at), data, f"{ticket_id}-e1", now)
    ]
    for version, (kind, at, body) in enumerate(more, start=2):
        events.append(
            make_event(ticket_id, version, kind, utc(at), body, f"{ticket_id}-e{version}", now)
        )
    store.append(events)
