"""A ticket's events kept compactly in its row, so re-evaluating it needs no log scan.

Each fact is ``[type, event_id, occurred_at_us, recorded_at_us, version, data]``,
with the event's ``sequence`` appended when it has one; the list is kept in
version (recorded) order. The fingerprint and ``data.attributes`` are left out:
clocks never depend on them (the audit trail reads them from the log).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from domain.business_time import to_us
from domain.events import ATTRIBUTES, TicketEvent

Fact = list[Any]
FACT_VERSION = 4
SEQUENCE = 6


def to_fact(event: TicketEvent) -> Fact:
    data = event.data
    if ATTRIBUTES in data:
        data = {key: value for key, value in data.items() if key != ATTRIBUTES}
    fact = [
        event.type.value,
        event.event_id,
        to_us(event.occurred_at),
        to_us(event.timestamp),
        event.originator_version,
        data,
    ]
    if event.sequence is not None:
        fact.append(event.sequence)
    return fact


@dataclass(frozen=True, slots=True)
class TicketFact:
    """A ticket event as its fact, read straight from the stored JSON (no event object):
    what the follower reads from a log that hands out raw records."""

    ticket_id: str
    fact: Fact


def merge(facts: list[Fact], new: Sequence[Fact]) -> list[Fact]:
    """``facts`` plus the new ones not already among them (by version), in version order."""
    known = {fact[FACT_VERSION] for fact in facts}
    added = [fact for fact in new if fact[FACT_VERSION] not in known]
    if not added:
        return facts
    merged = facts + added
    if facts and added[0][FACT_VERSION] < facts[-1][FACT_VERSION]:
        merged.sort(key=lambda fact: int(fact[FACT_VERSION]))
    return merged


def dumps(facts: list[Fact]) -> str:
    return orjson.dumps(facts, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str) -> list[Fact]:
    loaded: list[Fact] = orjson.loads(text)
    return loaded
