"""What a contract says at each instant: its plan, its calendar, and when its SLA is suspended.

Built from the contract's events (the caller applies ``as_known_at`` first);
everything here is replayed in ``occurred_at`` order, ties in recorded order
(version), so a late event lands where it belongs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from domain.contract_events import (
    ContractAmended,
    ContractEvent,
    ContractStarted,
    SlaReinstated,
    SlaSuspended,
)


class Suspension(NamedTuple):
    """A stretch during which the contract's SLA is suspended; ``end`` None while it lasts."""

    start: datetime
    end: datetime | None
    event_id: str


@dataclass(frozen=True)
class ContractTimeline:
    contract_id: str
    customer: str
    started_at: datetime
    # (from, plan, calendar) in replay order: each amendment's terms hold from its instant.
    terms: tuple[tuple[datetime, str, str | None], ...]
    suspensions: tuple[Suspension, ...]

    @classmethod
    def from_events(cls, events: Sequence[ContractEvent]) -> ContractTimeline | None:
        """None when no ``contract_started`` is among the events."""
        ordered = sorted(events, key=lambda e: (e.occurred_at, e.originator_version))
        started = next((e for e in ordered if isinstance(e, ContractStarted)), None)
        if started is None:
            return None
        return cls(
            started.contract_id,
            str(started.data["customer"]),
            started.occurred_at,
            _terms(started, ordered),
            _suspensions(ordered),
        )

    def plan_at(self, instant: datetime) -> str:
        return self._terms_at(instant)[1]

    def calendar_at(self, instant: datetime) -> str | None:
        """The contract's own calendar (the customer's region) at ``instant``, if it names one."""
        return self._terms_at(instant)[2]

    def suspended_at(self, instant: datetime) -> bool:
        return any(
            s.start <= instant and (s.end is None or instant < s.end) for s in self.suspensions
        )

    def _terms_at(self, instant: datetime) -> tuple[datetime, str, str | None]:
        # Before the start the first terms apply: a ticket cannot bind before it anyway.
        current = self.terms[0]
        for terms in self.terms[1:]:
            if terms[0] > instant:
                break
            current = terms
        return current


def _terms(
    started: ContractStarted, ordered: Sequence[ContractEvent]
) -> tuple[tuple[datetime, str, str | None], ...]:
    plan = str(started.data["plan"])
    calendar = _optional(started.data.get("calendar"))
    terms = [(started.occurred_at, plan, calendar)]
    for event in ordered:
        if isinstance(event, ContractAmended) and event.occurred_at >= started.occurred_at:
            plan = str(event.data.get("plan", plan))
            calendar = _optional(event.data.get("calendar", calendar))
            terms.append((event.occurred_at, plan, calendar))
    return tuple(terms)


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _suspensions(ordered: Sequence[ContractEvent]) -> tuple[Suspension, ...]:
    """Suspended/reinstated pairs; a second suspension while suspended changes nothing."""
    found: list[Suspension] = []
    open_since: ContractEvent | None = None
    for event in ordered:
        if isinstance(event, SlaSuspended) and open_since is None:
            open_since = event
        elif isinstance(event, SlaReinstated) and open_since is not None:
            found.append(Suspension(open_since.occurred_at, event.occurred_at, open_since.event_id))
            open_since = None
    if open_since is not None:
        found.append(Suspension(open_since.occurred_at, None, open_since.event_id))
    return tuple(found)
