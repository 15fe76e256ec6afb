"""Service events in and out: monitoring's outage events, through the single writer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from domain.errors import NotFound
from domain.events import fingerprint
from domain.instants import to_utc
from domain.service_events import (
    NewServiceEvent,
    parse_service_event_type,
    service_uuid,
    validate_service_data,
)
from service.outage_ingest import ServiceReceipt
from service.storage.eventstore import EventStore, RecordedEvent
from service.storage.writer import Writer


class ServiceEventInput(NamedTuple):
    """One service event as a client posted it (shape already checked by the HTTP layer)."""

    service_id: str
    event_id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]


def to_service_command(item: ServiceEventInput) -> NewServiceEvent:
    event_type = parse_service_event_type(item.type)
    occurred_at = to_utc(item.occurred_at)
    data = validate_service_data(item.data)
    digest = fingerprint(event_type.value, occurred_at, data)
    return NewServiceEvent(item.service_id, item.event_id, event_type, occurred_at, data, digest)


class ServiceEvents:
    def __init__(self, store: EventStore, writer: Writer) -> None:
        self._store = store
        self._writer = writer

    async def record(self, item: ServiceEventInput) -> ServiceReceipt:
        (answer,) = await self._writer.submit([to_service_command(item)])
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, ServiceReceipt)
        return answer

    def history(self, service_id: str, as_known_at: datetime | None) -> list[RecordedEvent]:
        recorded = self._store.aggregate_events(service_uuid(service_id))
        if not recorded:
            raise NotFound(f"service {service_id!r} has no recorded events")
        cutoff = to_utc(as_known_at, "as_known_at") if as_known_at else None
        return [r for r in recorded if cutoff is None or r.event.timestamp <= cutoff]
