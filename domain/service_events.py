"""Stored service events: a monitored service going down and coming back up.

These classes are a stored contract, like the ticket events (their topics are
written into the event store): never rename or remove one; add an upcast
instead. A service's events have the ticket events' envelope: ``event_id``,
``occurred_at`` (the monitor's instant, UTC), the validated ``data`` and the
``fingerprint`` of the posted body; ``timestamp`` is when slaclock recorded it.
Outages, downtime and uptime are derived from them, never stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from eventsourcing.domain import DomainEvent

from domain.errors import FieldError, ValidationFailed
from domain.events import MAX_NAME, MAX_TEXT, NAMESPACE

# Free-text fields a monitor may attach (an Alertmanager alert name, a status-page link).
_TEXT_LIMITS = {"actor": MAX_NAME, "source": MAX_NAME, "note": MAX_TEXT}


class ServiceEventType(StrEnum):
    OUTAGE_STARTED = "outage_started"
    OUTAGE_ENDED = "outage_ended"


def service_uuid(service_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"service:{service_id}")


@dataclass(frozen=True)
class ServiceEvent(DomainEvent):
    """Base of every service event. ``timestamp`` is when the service recorded it."""

    service_id: str
    event_id: str
    occurred_at: datetime
    data: dict[str, Any]
    fingerprint: str

    @property
    def type(self) -> ServiceEventType:
        return _TYPE_OF_CLASS[type(self)]

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp


@dataclass(frozen=True)
class OutageStarted(ServiceEvent):
    pass


@dataclass(frozen=True)
class OutageEnded(ServiceEvent):
    pass


SERVICE_CLASS_OF_TYPE: dict[ServiceEventType, type[ServiceEvent]] = {
    ServiceEventType.OUTAGE_STARTED: OutageStarted,
    ServiceEventType.OUTAGE_ENDED: OutageEnded,
}
_TYPE_OF_CLASS = {cls: kind for kind, cls in SERVICE_CLASS_OF_TYPE.items()}
_TYPES = {t.value: t for t in ServiceEventType}


class NewServiceEvent(NamedTuple):
    """A validated command to record one service event."""

    service_id: str
    event_id: str
    type: ServiceEventType
    occurred_at: datetime
    data: dict[str, object]
    fingerprint: str


def parse_service_event_type(value: str) -> ServiceEventType:
    try:
        return _TYPES[value]
    except KeyError:
        allowed = ", ".join(t.value for t in ServiceEventType)
        raise ValidationFailed.single("type", f"unknown event type; one of {allowed}") from None


def validate_service_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check a service event's ``data`` (optional actor, source, note) and drop nulls."""
    clean = {k: v for k, v in data.items() if v is not None}
    errors = [
        FieldError(f"data.{key}", "is not a field of this event type")
        for key in sorted(clean)
        if key not in _TEXT_LIMITS
    ]
    for key, limit in _TEXT_LIMITS.items():
        value = clean.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            errors.append(FieldError(f"data.{key}", "must be a non-empty string"))
        elif len(value) > limit:
            errors.append(FieldError(f"data.{key}", f"must be at most {limit} characters"))
    if errors:
        raise ValidationFailed(errors)
    return clean
