"""The outage index: every service's outages in memory, kept current from the event log.

Uptime reads must not replay a service's events (100,000 outages are 200,000
events). The index follows the log, reading only the topics it needs
(``select_notifications(topics=...)``, one indexed range query per read), and
keeps per service a ``LiveOutages``: sorted integer intervals that a month's
sum reaches by bisection. An event arriving in order costs one replay step; a
late one replays that service once. It also remembers which plans and
contracts exist, so the credits reads can find the plans with uptime terms and
the contracts to scan. Nothing here is stored: a restart rebuilds it from the
log on the first read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from eventsourcing.utils import get_topic

from domain.contract_events import ContractStarted
from domain.events import PolicyVersionDefined
from domain.service_events import OutageEnded, OutageStarted, ServiceEvent
from domain.uptime import LiveOutages, OutageTimeline
from service.storage.eventstore import EventStore

PAGE = 5000
_TOPICS = [
    get_topic(c) for c in (OutageStarted, OutageEnded, PolicyVersionDefined, ContractStarted)
]


class OutageIndex:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._position = 0
        self._services: dict[str, LiveOutages] = {}
        self.plans: set[str] = set()
        # Plans with a version the catalog of this process may not have read yet.
        self.changed_plans: set[str] = set()
        self.contracts: set[str] = set()

    @contextmanager
    def current(self) -> Iterator[OutageIndex]:
        """The index with everything the log holds now, held still while it is read."""
        with self._lock:
            self._refresh()
            yield self

    def _refresh(self) -> None:
        while True:
            page = self._store.recorder.select_notifications(
                start=self._position, limit=PAGE, topics=_TOPICS, inclusive_of_start=False
            )
            for notification in page:
                self._take(self._store.decode(notification))
                self._position = notification.id
            if len(page) < PAGE:
                return

    def _take(self, event: object) -> None:
        if isinstance(event, ServiceEvent):
            self._services.setdefault(event.service_id, LiveOutages()).add(event)
        elif isinstance(event, PolicyVersionDefined):
            self.plans.add(event.plan_id)
            self.changed_plans.add(event.plan_id)
        elif isinstance(event, ContractStarted):
            self.contracts.add(event.contract_id)

    def services(self) -> list[str]:
        return sorted(self._services)

    def timeline(self, service_id: str, as_known_at: datetime | None = None) -> OutageTimeline:
        """The service's outages, from the events recorded by ``as_known_at`` (all if None)."""
        live = self._services.get(service_id)
        if live is None:
            return OutageTimeline()
        if as_known_at is None:
            return live.timeline
        known = LiveOutages()
        for event in [e for e in live.events if e.timestamp <= as_known_at]:
            known.add(event)
        return known.timeline
