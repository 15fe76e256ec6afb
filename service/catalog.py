"""Policy and calendar versions as the event store holds them, parsed once per version.

Versions are immutable, so a parsed version (and a compiled calendar timeline)
is cached by its identity for ever. Which versions exist is read from the store
when a caller needs to be current (``refresh=True``), so several processes
sharing one PostgreSQL never disagree for long.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from domain.business_time import CalendarTimeline
from domain.calendar import ALWAYS_OPEN_ID, CalendarSpec, parse_calendar
from domain.events import (
    CalendarVersionDefined,
    PolicyVersionDefined,
    calendar_uuid,
    policy_uuid,
)
from domain.policy import Policy, parse_policy
from domain.versions import Version, effective_start, known_at
from service.storage.eventstore import EventStore


class Catalog:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._calendars: dict[str, list[Version[CalendarSpec]]] = {}
        self._policies: dict[str, list[Version[Policy]]] = {}
        self._documents: dict[tuple[str, str, int], dict[str, Any]] = {}
        self._given: dict[tuple[str, str, int], datetime | None] = {}
        self._timelines: dict[tuple[str, tuple[int, ...]], CalendarTimeline] = {}

    # --- versions ----------------------------------------------------------

    def calendar_versions(
        self, calendar_id: str, *, refresh: bool = True
    ) -> list[Version[CalendarSpec]]:
        if calendar_id == ALWAYS_OPEN_ID:
            return []
        if refresh or calendar_id not in self._calendars:
            self._load_calendar(calendar_id)
        return self._calendars.get(calendar_id, [])

    def policy_versions(self, plan_id: str, *, refresh: bool = True) -> list[Version[Policy]]:
        if refresh or plan_id not in self._policies:
            self._load_policy(plan_id)
        return self._policies.get(plan_id, [])

    def calendar_exists(self, calendar_id: str) -> bool:
        return calendar_id == ALWAYS_OPEN_ID or bool(self.calendar_versions(calendar_id))

    def document(self, kind: str, key: str, number: int) -> dict[str, Any]:
        """The stored (canonical) document of a version already loaded."""
        return self._documents[(kind, key, number)]

    def given_effective_from(self, kind: str, key: str, number: int) -> datetime | None:
        """``effective_from`` exactly as the version's PUT gave it (None when absent)."""
        return self._given[(kind, key, number)]

    def timeline(self, calendar_id: str, as_known_at: datetime | None = None) -> CalendarTimeline:
        """The calendar applied instant by instant, with the versions known at ``as_known_at``."""
        if calendar_id == ALWAYS_OPEN_ID:
            return CalendarTimeline.always_open()
        versions = known_at(self.calendar_versions(calendar_id), as_known_at)
        key = (calendar_id, tuple(v.number for v in versions))
        with self._lock:
            cached = self._timelines.get(key)
            if cached is None:
                cached = CalendarTimeline(calendar_id, versions)
                self._timelines[key] = cached
        return cached

    # --- loading -----------------------------------------------------------

    def _load_calendar(self, calendar_id: str) -> None:
        self._load("calendar", calendar_id, self._calendars)

    def _load_policy(self, plan_id: str) -> None:
        self._load("policy", plan_id, self._policies)

    def _load(self, kind: str, key: str, loaded: dict[str, list[Any]]) -> None:
        """Read a calendar's or policy's versions; parse only those not parsed before."""
        aggregate = calendar_uuid(key) if kind == "calendar" else policy_uuid(key)
        cached = {v.number: v for v in loaded.get(key, [])}
        versions = [
            cached.get(r.event.originator_version) or self._parse(kind, key, r.event)
            for r in self._store.aggregate_events(aggregate)
        ]
        with self._lock:
            loaded[key] = versions

    def _parse(self, kind: str, key: str, event: object) -> Version[Any]:
        assert isinstance(event, CalendarVersionDefined | PolicyVersionDefined)
        number = event.originator_version
        self._documents[(kind, key, number)] = event.document
        self._given[(kind, key, number)] = event.effective_from
        parse = parse_calendar if kind == "calendar" else parse_policy
        return _version(number, event.effective_from, event.timestamp, parse(event.document))


def _version(
    number: int, given: datetime | None, recorded_at: datetime, value: Any
) -> Version[Any]:
    return Version(number, effective_start(number, given, recorded_at), recorded_at, value)
