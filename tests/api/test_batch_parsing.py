"""The batch fast path accepts exactly what BatchItemIn accepts, with the same values."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from service.event_bodies import well_formed
from service.http.schemas import BatchItemIn

GOOD = {
    "ticket_id": "T-1",
    "event_id": "e1",
    "type": "opened",
    "occurred_at": "2026-03-02T09:15:00Z",
    "data": {"plan": "p"},
}


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"occurred_at": "2026-03-02T10:15:00.250+01:00"},
        {"occurred_at": "2026-03-02T09:15:00"},
        {"occurred_at": "2026-02-30T09:15:00Z"},
        {"occurred_at": "2026-03-02 09:15:00Z"},
        {"occurred_at": 1700000000},
        {"ticket_id": "bad id"},
        {"ticket_id": "x" * 129},
        {"event_id": ""},
        {"event_id": "e" * 129},
        {"type": 3},
        {"data": []},
        {"extra": 1},
    ],
)
def test_fast_path_agrees_with_the_schema(change: dict[str, Any]) -> None:
    entry = GOOD | change
    fast = well_formed(entry)
    try:
        model = BatchItemIn.model_validate(entry)
    except ValidationError:
        assert fast is None
        return
    if fast is not None:
        assert (fast.ticket_id, fast.event_id, fast.type, fast.data) == (
            model.ticket_id,
            model.event_id,
            model.type,
            model.data,
        )
        assert fast.occurred_at == model.occurred_at
