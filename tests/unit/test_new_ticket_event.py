"""Events built for the writer equal the ones their dataclass constructor builds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.events import CLASS_OF_TYPE, EventType, new_ticket_event, ticket_uuid

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
    assert vars(built) == vars(constructed)
    assert built.type is event_type
