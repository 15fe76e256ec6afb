"""Events built for the writer equal the ones their dataclass constructor builds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Mapper, StoredEvent

from domain.events import CLASS_OF_TYPE, EventType, TicketOpened, new_ticket_event, ticket_uuid
from service.storage.transcoder import event_transcoder

AT = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize("event_type", list(EventType))
def test_a_built_event_equals_the_constructed_one(event_type: EventType) -> None:
    fields = {
        "originator_id": ticket_uuid("T-1"),
        "originator_version": 3,
        "timestamp": AT,
        "ticket_id": "T-1",
        "event_id": "e3",
        "occurred_at": AT,
        "data": {"note": "n"},
        "fingerprint": "f" * 64,
    }
    built = new_ticket_event(event_type, **fields)  # type: ignore[arg-type]
    constructed = CLASS_OF_TYPE[event_type](**fields)  # type: ignore[arg-type]
    assert built == constructed
    assert type(built) is type(constructed)
    # Without a sequence, the built event holds what the library decodes from an event
    # stored without one (the field's default stays on the class).
    assert vars(built) == {k: v for k, v in vars(constructed).items() if k != "sequence"}
    assert built.sequence is None
    assert built.type is event_type


@pytest.mark.parametrize("event_type", list(EventType))
def test_a_built_event_with_a_sequence_equals_the_constructed_one(event_type: EventType) -> None:
    fields: dict[str, Any] = {
        "originator_id": ticket_uuid("T-1"),
        "originator_version": 3,
        "timestamp": AT,
        "ticket_id": "T-1",
        "event_id": "e3",
        "occurred_at": AT,
        "data": {"note": "n", "attributes": {"sys_id": "abc", "n": [1, {"x": None}]}},
        "fingerprint": "f" * 64,
        "sequence": 12,
    }
    built = new_ticket_event(event_type, **fields)
    constructed = CLASS_OF_TYPE[event_type](**fields)
    assert built == constructed
    assert vars(built) == vars(constructed)
    assert built.sequence == 12


def test_an_event_stored_before_sequence_existed_decodes_with_none() -> None:
    """Bytes as slaclock stored them before ``sequence`` was a field of TicketEvent."""
    mapper: Mapper[UUID] = Mapper(transcoder=event_transcoder())
    state = (
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T09:15:00+00:00"},'
        b'"ticket_id":"T-1","event_id":"e1",'
        b'"occurred_at":{"_type_":"datetime_iso","_data_":"2026-03-02T09:15:00+00:00"},'
        b'"data":{"plan":"gold","kind":"incident"},"fingerprint":"' + b"f" * 64 + b'"}'
    )
    topic = "domain.events:TicketOpened"
    event = mapper.to_domain_event(StoredEvent(ticket_uuid("T-1"), 1, topic, state))
    assert isinstance(event, TicketOpened)
    assert event.sequence is None
    assert event.occurred_at == AT
    # Written back, it is the same bytes: an event without a sequence gains no field.
    assert mapper.to_stored_event(event).state == state
