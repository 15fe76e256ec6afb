"""Ticket facts straight from stored JSON, skipping the library's object decoding.

A rebuild spends most of its reading time in eventsourcing's mapper turning
each record into an event object it then only flattens into a fact. Ticket
events are plain JSON here (eventsourcing's JSONTranscoder, datetimes as
``{"_type_": "datetime_iso", "_data_": ...}``), so the fact is read from the
parsed JSON directly. Anything else, or anything not in exactly that shape,
returns None and is decoded the ordinary way; a rebuild equals the followed
tables either way (the tests compare them row for row).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from domain.business_time import to_us
from domain.contract_events import CONTRACT_CLASS_OF_TYPE
from domain.contract_timeline import CLOCK_EVENT_TYPES
from domain.events import CLASS_OF_TYPE, CalendarVersionDefined, PolicyVersionDefined
from projections.facts import Fact

_TYPE_OF_TOPIC = {
    f"{cls.__module__}:{cls.__qualname__}": t.value for t, cls in CLASS_OF_TYPE.items()
}
TICKET_TOPICS = frozenset(_TYPE_OF_TOPIC)
VERSION_TOPICS = tuple(
    f"{cls.__module__}:{cls.__qualname__}" for cls in (CalendarVersionDefined, PolicyVersionDefined)
)
# The contract events clocks depend on, read in the same scan as the versions.
CONTRACT_TOPICS = tuple(
    f"{cls.__module__}:{cls.__qualname__}"
    for kind, cls in CONTRACT_CLASS_OF_TYPE.items()
    if kind in CLOCK_EVENT_TYPES
)
_ISO = "datetime_iso"


def _instant(value: Any) -> datetime | None:
    if isinstance(value, dict) and value.get("_type_") == _ISO:
        parsed = datetime.fromisoformat(value["_data_"])
        if parsed.tzinfo is not None:
            return parsed
    return None


def raw_fact(topic: str, version: int, state: bytes) -> tuple[str, Fact] | None:
    """(ticket_id, fact) of a stored ticket event; None when it must be decoded normally."""
    kind = _TYPE_OF_TOPIC.get(topic)
    if kind is None:
        return None
    body = orjson.loads(state)
    data = body.get("data")
    occurred, recorded = _instant(body.get("occurred_at")), _instant(body.get("timestamp"))
    plain = isinstance(data, dict) and all(not isinstance(v, dict | list) for v in data.values())
    if occurred is None or recorded is None or not plain:
        return None
    fact = [kind, body["event_id"], to_us(occurred), to_us(recorded), version, data]
    sequence = body.get("sequence")
    if sequence is not None:
        if type(sequence) is not int:
            return None
        fact.append(sequence)
    return body["ticket_id"], fact
