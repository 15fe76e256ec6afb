"""The projection's own copy of policy and calendar versions (and of the contract events
clocks depend on), taken from the log.

The projection never asks the write side which versions exist: it records each
``PolicyVersionDefined`` / ``CalendarVersionDefined`` it folds into its own
tables (in the same transaction as its position), so a rebuild from zero needs
nothing but the log, and the versions it applies are exactly those that came
before the event being processed. Contracts are kept the same way: each
contract's start, calendar amendments and suspensions (``ContractRow``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from domain.business_time import CalendarTimeline, from_us, to_us
from domain.calendar import ALWAYS_OPEN_ID, CalendarSpec, parse_calendar
from domain.contract_events import ContractEvent, ContractEventType
from domain.contract_timeline import (
    CLOCK_EVENT_TYPES,
    ContractClockFacts,
    ContractOccurrence,
    contract_occurrence_of,
)
from domain.events import CalendarVersionDefined, PolicyVersionDefined
from domain.policy import Policy, parse_policy
from domain.versions import Version, effective_start, in_effect_at
from projections.schema import Tables

VersionEvent = CalendarVersionDefined | PolicyVersionDefined


@dataclass(frozen=True)
class CatalogRow:
    """One version as its catalog table stores it."""

    key: str
    version: int
    effective_from_us: int | None
    recorded_at_us: int
    position: int
    document: str

    @classmethod
    def of(cls, event: VersionEvent, position: int) -> CatalogRow:
        key = event.calendar_id if isinstance(event, CalendarVersionDefined) else event.plan_id
        start = effective_start(event.originator_version, event.effective_from, event.timestamp)
        return cls(
            key=key,
            version=event.originator_version,
            effective_from_us=None if start is None else to_us(start),
            recorded_at_us=to_us(event.timestamp),
            position=position,
            document=json.dumps(event.document, sort_keys=True, separators=(",", ":")),
        )

    def values(self, key_column: str) -> dict[str, Any]:
        return {
            key_column: self.key,
            "version": self.version,
            "effective_from_us": self.effective_from_us,
            "recorded_at_us": self.recorded_at_us,
            "position": self.position,
            "document": self.document,
        }

    def as_version(self, value: Any) -> Version[Any]:
        start = None if self.effective_from_us is None else from_us(self.effective_from_us)
        return Version(self.version, start, from_us(self.recorded_at_us), value)


@dataclass(frozen=True)
class ContractRow:
    """One contract event that clocks depend on, as the contracts table stores it."""

    contract_id: str
    version: int
    position: int
    occurrence: ContractOccurrence

    @classmethod
    def of(cls, event: ContractEvent, position: int) -> ContractRow | None:
        """None for the events clocks do not depend on (work logged, renewals, claims)."""
        if event.type not in CLOCK_EVENT_TYPES:
            return None
        occurrence = contract_occurrence_of(event)
        return cls(event.contract_id, event.originator_version, position, occurrence)

    def values(self) -> dict[str, Any]:
        o = self.occurrence
        return {
            "contract_id": self.contract_id,
            "version": self.version,
            "position": self.position,
            "type": o.type.value,
            "occurred_at_us": o.occurred_us,
            "event_id": o.event_id,
            "calendar": o.calendar,
            "names_calendar": int(o.names_calendar),
        }

    @classmethod
    def stored(cls, row: Mapping[str, Any]) -> ContractRow:
        occurrence = ContractOccurrence(
            ContractEventType(row["type"]),
            row["occurred_at_us"],
            row["version"],
            row["event_id"],
            row["calendar"],
            bool(row["names_calendar"]),
        )
        return cls(row["contract_id"], row["version"], row["position"], occurrence)


# What a catalog is built from in a rebuild: version rows (with is_policy) and contract rows.
CatalogEntry = tuple[CatalogRow, bool] | ContractRow


class ProjectionCatalog:
    """Parsed versions per plan and per calendar, with compiled timelines cached."""

    def __init__(self) -> None:
        self.policies: dict[str, list[Version[Policy]]] = {}
        self.calendars: dict[str, list[Version[CalendarSpec]]] = {}
        self._timelines: dict[str, CalendarTimeline] = {}
        self.contracts: dict[str, list[ContractOccurrence]] = {}
        self._contract_facts: dict[str, ContractClockFacts | None] = {}

    @classmethod
    def load(cls, conn: Connection, tables: Tables) -> ProjectionCatalog:
        catalog = cls()
        for table, key in ((tables.calendars, "calendar_id"), (tables.policies, "plan_id")):
            order = (table.c[key], table.c.version)
            for row in conn.execute(select(table).order_by(*order)).mappings():
                stored = CatalogRow(
                    key=row[key],
                    version=row["version"],
                    effective_from_us=row["effective_from_us"],
                    recorded_at_us=row["recorded_at_us"],
                    position=row["position"],
                    document=row["document"],
                )
                catalog.add(stored, is_policy=key == "plan_id")
        c = tables.contracts
        for row in conn.execute(select(c).order_by(c.c.contract_id, c.c.version)).mappings():
            catalog.add_contract(ContractRow.stored(dict(row)))
        return catalog

    def add_contract(self, row: ContractRow) -> None:
        self.contracts.setdefault(row.contract_id, []).append(row.occurrence)
        self._contract_facts.pop(row.contract_id, None)

    def contract_facts(self, contract_id: str) -> ContractClockFacts | None:
        """What the contract's tickets' clocks read of it (None: not started in the log)."""
        if contract_id not in self._contract_facts:
            occurrences = self.contracts.get(contract_id, [])
            self._contract_facts[contract_id] = ContractClockFacts.of(contract_id, occurrences)
        return self._contract_facts[contract_id]

    def add(self, row: CatalogRow, *, is_policy: bool) -> None:
        document = json.loads(row.document)
        if is_policy:
            self.policies.setdefault(row.key, []).append(row.as_version(parse_policy(document)))
        else:
            version = row.as_version(parse_calendar(document))
            self.calendars.setdefault(row.key, []).append(version)
            self._timelines.pop(row.key, None)

    # --- what applies --------------------------------------------------------

    def policy_for(self, plan: str, opened_at: datetime) -> Version[Policy] | None:
        """The plan's version in effect at the ticket's opening (None: none yet)."""
        return in_effect_at(self.policies.get(plan, []), opened_at)

    def policy_at_us(self, plan: str, at_us: int) -> Version[Policy] | None:
        """``policy_for`` at an instant in epoch µs: a plan's only version, in effect
        from the start (most plans), is found with no datetime made for the instant."""
        versions = self.policies.get(plan, [])
        if len(versions) == 1 and versions[0].effective_from is None:
            return versions[0]
        return self.policy_for(plan, from_us(at_us))

    def policy(self, plan: str, number: int) -> Policy | None:
        for version in self.policies.get(plan, []):
            if version.number == number:
                return version.value
        return None

    def timeline(self, calendar_id: str) -> CalendarTimeline:
        timeline = self._timelines.get(calendar_id)
        if timeline is None:
            versions = self.calendars.get(calendar_id)
            if versions:
                timeline = CalendarTimeline(calendar_id, versions)
            elif calendar_id == ALWAYS_OPEN_ID:
                timeline = CalendarTimeline.always_open()
            else:
                raise LookupError(f"calendar {calendar_id!r} has no version in the log")
            self._timelines[calendar_id] = timeline
        return timeline

    # --- what a new version can change ---------------------------------------

    def contracts_using(self, calendar_id: str) -> list[str]:
        """Every contract that names ``calendar_id`` at some instant (its tickets may run on it)."""
        found = []
        for contract_id in sorted(self.contracts):
            facts = self.contract_facts(contract_id)
            if facts is not None and calendar_id in facts.calendars:
                found.append(contract_id)
        return found

    def plans_using(self, calendar_id: str) -> list[tuple[str, int]]:
        """Every (plan, policy version) that measures some priority on ``calendar_id``."""
        return [
            (plan, version.number)
            for plan, versions in self.policies.items()
            for version in versions
            if calendar_id in version.value.referenced_calendars()
        ]

    def calendar_reach(self, row: CatalogRow) -> int | None:
        """From which instant (µs) a new calendar version changes business time.

        None means all of time: a version with no start, or one that starts
        before every known version (the earliest version also covers the time
        before its own start).
        """
        if row.effective_from_us is None:
            return None
        starts = [
            None if v.effective_from is None else to_us(v.effective_from)
            for v in self.calendars.get(row.key, [])
        ]
        if not starts or all(s is not None and s > row.effective_from_us for s in starts):
            return None
        return row.effective_from_us
