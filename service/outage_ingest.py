"""What the writer decides for a service event (outage_started / outage_ended).

Service heads are few (one per monitored service) and small, so they are all
kept; a head is loaded from the store on first use and dropped, like a ticket
head, when the group that touched it fails to commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from domain.errors import DomainError, NotFound
from domain.outages import ServiceHead, check_retry, check_transition
from domain.service_events import (
    SERVICE_CLASS_OF_TYPE,
    NewServiceEvent,
    ServiceEvent,
    ServiceEventType,
    service_uuid,
)
from service.storage.eventstore import EventStore


class ServiceReceipt(NamedTuple):
    """The answer to a service event: the first answer, also for every retry."""

    service_id: str
    event_id: str
    version: int
    position: int
    recorded_at: datetime
    created: bool


class ServiceRetryOf(NamedTuple):
    """A retry of a service event recorded at ``version`` (perhaps earlier in the same group)."""

    service_id: str
    event_id: str
    version: int


class ServiceRules:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._heads: dict[str, ServiceHead] = {}

    def head(self, service_id: str) -> ServiceHead:
        head = self._heads.get(service_id)
        if head is None:
            head = self._heads[service_id] = self._stored_head(service_id)
        return head

    def prefetch(self, commands: Sequence[NewServiceEvent], *, assume_new: bool = True) -> None:
        """Load, in one read, the heads of the services a group names that are not cached.

        A service first seen with ``outage_started`` is assumed new without a read,
        as a ticket first seen with ``opened`` is: the store's key on version 1
        refuses the write if it is not, and the writer decides the group again
        with ``assume_new=False`` (monitoring that names a new service per alert
        would otherwise pay a read per event).
        """
        first: dict[str, NewServiceEvent] = {}
        for command in commands:
            if command.service_id not in self._heads:
                first.setdefault(command.service_id, command)
        missing = []
        for service_id, command in first.items():
            if assume_new and command.type == "outage_started":
                self._heads[service_id] = ServiceHead(service_id)
            else:
                missing.append(service_id)
        if not missing:
            return
        loaded = self._store.events_of_many([service_uuid(s) for s in missing])
        for service_id in missing:
            events = [
                r.event
                for r in loaded[service_uuid(service_id)]
                if isinstance(r.event, ServiceEvent)
            ]
            self._heads[service_id] = ServiceHead.replay(service_id, events)

    def decide(
        self, command: NewServiceEvent, recorded_at: datetime
    ) -> ServiceEvent | ServiceRetryOf:
        head = self.head(command.service_id)
        try:
            return self._decide(head, command, recorded_at)
        except DomainError:
            fresh = self._stored_head(command.service_id)
            if fresh.version <= head.version:
                raise  # the cached head was current (or ahead, by this group's events)
        # Another process wrote to the service since its head was cached: judge afresh.
        self._heads[command.service_id] = fresh
        return self._decide(fresh, command, recorded_at)

    def _stored_head(self, service_id: str) -> ServiceHead:
        events = [
            r.event
            for r in self._store.aggregate_events(service_uuid(service_id))
            if isinstance(r.event, ServiceEvent)
        ]
        return ServiceHead.replay(service_id, events)

    def _decide(
        self, head: ServiceHead, command: NewServiceEvent, recorded_at: datetime
    ) -> ServiceEvent | ServiceRetryOf:
        retried = check_retry(head, command)
        if retried is not None:
            return ServiceRetryOf(command.service_id, command.event_id, retried)
        check_transition(head, command)
        version = head.version + 1
        event = SERVICE_CLASS_OF_TYPE[command.type](
            originator_id=service_uuid(command.service_id),
            originator_version=version,
            timestamp=recorded_at,
            service_id=command.service_id,
            event_id=command.event_id,
            occurred_at=command.occurred_at,
            data=dict(command.data),
            fingerprint=command.fingerprint,
        )
        head.record(command.event_id, command.fingerprint, version)
        head.place(command.occurred_at, version, command.type is ServiceEventType.OUTAGE_STARTED)
        return event

    def forget(self, service_ids: set[str]) -> None:
        for service_id in service_ids:
            self._heads.pop(service_id, None)

    def receipt_of(self, retry: ServiceRetryOf) -> ServiceReceipt:
        """The first answer for an event already committed (a retry's answer)."""
        for recorded in self._store.aggregate_events(service_uuid(retry.service_id)):
            event = recorded.event
            if event.originator_version == retry.version:
                return ServiceReceipt(
                    retry.service_id,
                    retry.event_id,
                    retry.version,
                    recorded.position,
                    event.timestamp,
                    created=False,
                )
        raise NotFound(f"event {retry.event_id!r} of service {retry.service_id!r} is not recorded")


def fresh_receipt(event: ServiceEvent, position: int) -> ServiceReceipt:
    return ServiceReceipt(
        event.service_id,
        event.event_id,
        event.originator_version,
        position,
        event.timestamp,
        created=True,
    )
