"""A ticket's events kept compactly in its row, so re-evaluating it needs no log scan.

Each fact is ``[type, event_id, occurred_at_us, recorded_at_us, version, data]``;
the list is kept in version (recorded) order. The fingerprint is left out:
clocks never depend on it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from domain.business_time import from_us, to_us
from domain.events import CLASS_OF_TYPE, TicketEvent, ticket_uuid

Fact = list[Any]
_VERSION = 4


def to_fact(event: TicketEvent) -> Fact:
    return [
        event.type.value,
        event.event_id,
        to_us(event.occurred_at),
        to_us(event.timestamp),
        event.originator_version,
        event.data,
    ]


def merge(facts: list[Fact], new: Sequence[TicketEvent]) -> list[Fact]:
    """``facts`` plus the events not already among them, in version order."""
    known = {fact[_VERSION] for fact in facts}
    added = [to_fact(e) for e in new if e.originator_version not in known]
    if not added:
        return facts
    merged = facts + added
    if facts and added[0][_VERSION] < facts[-1][_VERSION]:
        merged.sort(key=lambda fact: int(fact[_VERSION]))
    return merged


def dumps(facts: list[Fact]) -> str:
    return orjson.dumps(facts, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str) -> list[Fact]:
    loaded: list[Fact] = orjson.loads(text)
    return loaded


_CLASSES = {kind.value: cls for kind, cls in CLASS_OF_TYPE.items()}


def _event(cls: type[TicketEvent], fields: dict[str, Any]) -> TicketEvent:
    # As eventsourcing's own mapper does: the frozen dataclass __init__ (one
    # object.__setattr__ per field) costs several times more than this.
    event = cls.__new__(cls)
    event.__dict__.update(fields)
    return event


def to_events(ticket_id: str, facts: Sequence[Fact]) -> list[TicketEvent]:
    """The stored events again, as the evaluator takes them."""
    return [
        event_of(
            ticket_id,
            kind,
            event_id,
            occurred_at=from_us(occurred),
            recorded_at=from_us(recorded),
            version=version,
            data=data,
        )
        for kind, event_id, occurred, recorded, version, data in facts
    ]


def event_of(
    ticket_id: str,
    kind: str,
    event_id: str,
    *,
    occurred_at: datetime,
    recorded_at: datetime,
    version: int,
    data: dict[str, Any],
) -> TicketEvent:
    """A ticket event as the evaluator takes it (the fingerprint left out, as in facts)."""
    return _event(
        _CLASSES[kind],
        {
            "originator_id": _aggregate_id(ticket_id),
            "originator_version": version,
            "timestamp": recorded_at,
            "ticket_id": ticket_id,
            "event_id": event_id,
            "occurred_at": occurred_at,
            "data": data,
            "fingerprint": "",
        },
    )


# A ticket's events are built one after another (in key order, or from one ticket's
# facts): a small cache hashes each ticket id once rather than once per event.
_aggregate_id = functools.lru_cache(maxsize=1024)(ticket_uuid)
