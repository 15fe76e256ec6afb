"""Stored events: the facts slaclock records, and how their payloads are validated.

These classes are a stored contract (their topics are written into the event
store): never rename or remove one; add an upcast instead. Events hold facts
only — what happened, when, and who said so. Clocks are derived from them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import DomainEvent

from domain.errors import FieldError, ValidationFailed

NAMESPACE = uuid.UUID("6b1b0a52-7d3e-4c1e-9a55-3f0d6f7e2a10")
_NAMESPACE_BYTES = NAMESPACE.bytes


class EventType(StrEnum):
    OPENED = "opened"
    PRIORITY_CHANGED = "priority_changed"
    RESPONDED = "responded"
    AWAITING_CUSTOMER = "awaiting_customer"
    CUSTOMER_REPLIED = "customer_replied"
    RELIEVED = "relieved"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


class TicketKind(StrEnum):
    INCIDENT = "incident"
    QUERY = "query"
    SERVICE_REQUEST = "service_request"
    FEATURE_REQUEST = "feature_request"


MAX_TEXT = 4096
MAX_NAME = 128
ATTRIBUTES = "attributes"
MAX_ATTRIBUTES_BYTES = 4096
MAX_SEQUENCE = 2**63 - 1
_MAX_DEPTH = 32

_OPENED_FIELDS = frozenset(
    {"plan", "contract", "priority", "customer", "kind", "channel", "environment"}
)
_PRIORITY_FIELDS = frozenset({"priority", "reason"})
_NOTE_FIELDS = frozenset({"actor", "note"})


def ticket_uuid(ticket_id: str) -> uuid.UUID:
    """``uuid.uuid5(NAMESPACE, "ticket:" + ticket_id)``, spelled out.

    Every new ticket pays for it, and most tickets are seen once by a batch: the
    standard constructor's checks cost more than the hash, so the UUID is set up as
    ``uuid.UUID(bytes=..., version=5)`` would set it (tests/unit/test_transcoder.py).
    """
    name = _NAMESPACE_BYTES + b"ticket:" + ticket_id.encode()
    digest = hashlib.sha1(name, usedforsecurity=False).digest()
    value = int.from_bytes(digest[:16]) & _CLEAR_VARIANT_AND_VERSION | _RFC_4122_VERSION_5
    made = _new_uuid(uuid.UUID)
    _set_slot(made, "int", value)
    _set_slot(made, "is_safe", uuid.SafeUUID.unknown)
    return made


_CLEAR_VARIANT_AND_VERSION = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_RFC_4122_VERSION_5 = (0x8000 << 48) | (5 << 76)
_new_uuid = object.__new__
_set_slot = object.__setattr__


def calendar_uuid(calendar_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"calendar:{calendar_id}")


def policy_uuid(plan_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"policy:{plan_id}")


def isoformat(moment: datetime) -> str:
    """``moment.isoformat()``, remembered for UTC instants.

    The fingerprint and the stored event both spell each occurred_at, and every
    event of a committed group shares its recorded_at. Only UTC instants are
    cached: equal instants in other offsets compare (and hash) equal but spell
    differently.
    """
    return _utc_isoformat(moment) if moment.tzinfo is UTC else moment.isoformat()


_utc_isoformat = functools.lru_cache(maxsize=8192)(datetime.isoformat)


def fingerprint(
    event_type: str, occurred_at: datetime, data: Mapping[str, Any], sequence: int | None = None
) -> str:
    """A stable digest of an event's body, to tell a retry from a conflicting reuse.

    ``data`` holds validated strings, so the repr of its sorted items is canonical;
    ``attributes`` (free JSON) is spelled as JSON with sorted keys instead. A
    ``sequence`` is appended only when given, so the digests of bodies without one
    are those earlier versions stored.
    """
    items = sorted(data.items())
    if ATTRIBUTES in data:
        items = [(k, _canonical_json(v) if k == ATTRIBUTES else v) for k, v in items]
    canonical = f"{event_type}|{isoformat(occurred_at)}|{items!r}"
    if sequence is not None:
        canonical += f"|sequence={sequence}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical_json(value: Any, *, sort_keys: bool = True) -> str:
    return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)


# --- the stored event classes -------------------------------------------------


@dataclass(frozen=True)
class TicketEvent(DomainEvent):
    """Base of every ticket event. ``timestamp`` is when the service recorded it."""

    ticket_id: str
    event_id: str
    occurred_at: datetime
    data: dict[str, Any]
    fingerprint: str
    # The source's own order among events at the same occurred_at. Added later:
    # events stored before it decode with the default. Keep it last.
    sequence: int | None = None

    @property
    def type(self) -> EventType:
        return _TYPE_OF_CLASS[type(self)]

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp


@dataclass(frozen=True)
class TicketOpened(TicketEvent):
    pass


@dataclass(frozen=True)
class PriorityChanged(TicketEvent):
    pass


@dataclass(frozen=True)
class Responded(TicketEvent):
    pass


@dataclass(frozen=True)
class AwaitingCustomer(TicketEvent):
    pass


@dataclass(frozen=True)
class CustomerReplied(TicketEvent):
    pass


@dataclass(frozen=True)
class Relieved(TicketEvent):
    pass


@dataclass(frozen=True)
class Resolved(TicketEvent):
    pass


@dataclass(frozen=True)
class Reopened(TicketEvent):
    pass


@dataclass(frozen=True)
class Closed(TicketEvent):
    pass


@dataclass(frozen=True)
class CalendarVersionDefined(DomainEvent):
    """A new version of a calendar; ``document`` is the validated PUT body."""

    calendar_id: str
    document: dict[str, Any]
    effective_from: datetime | None


@dataclass(frozen=True)
class PolicyVersionDefined(DomainEvent):
    """A new version of a support plan's policy; ``document`` is the validated PUT body."""

    plan_id: str
    document: dict[str, Any]
    effective_from: datetime | None


CLASS_OF_TYPE: dict[EventType, type[TicketEvent]] = {
    EventType.OPENED: TicketOpened,
    EventType.PRIORITY_CHANGED: PriorityChanged,
    EventType.RESPONDED: Responded,
    EventType.AWAITING_CUSTOMER: AwaitingCustomer,
    EventType.CUSTOMER_REPLIED: CustomerReplied,
    EventType.RELIEVED: Relieved,
    EventType.RESOLVED: Resolved,
    EventType.REOPENED: Reopened,
    EventType.CLOSED: Closed,
}
_TYPE_OF_CLASS = {cls: kind for kind, cls in CLASS_OF_TYPE.items()}


def new_ticket_event(
    event_type: EventType,
    *,
    originator_id: uuid.UUID,
    originator_version: int,
    timestamp: datetime,
    ticket_id: str,
    event_id: str,
    occurred_at: datetime,
    data: dict[str, Any],
    fingerprint: str,
    sequence: int | None = None,
) -> TicketEvent:
    """A ticket event, built as eventsourcing's mapper builds the events it decodes.

    The frozen dataclass ``__init__`` sets each field through object.__setattr__
    and costs several times more; the writer makes one event per accepted
    request. Every field is a required argument here, so none can be missed.
    """
    cls = CLASS_OF_TYPE[event_type]
    event = cls.__new__(cls)
    event.__dict__.update(
        originator_id=originator_id,
        originator_version=originator_version,
        timestamp=timestamp,
        ticket_id=ticket_id,
        event_id=event_id,
        occurred_at=occurred_at,
        data=data,
        fingerprint=fingerprint,
    )
    if sequence is not None:
        # Only when given, as the library decodes an event stored without one: the
        # stored JSON of every other event stays as it was (no "sequence": null).
        event.__dict__["sequence"] = sequence
    return event


# --- payload validation -------------------------------------------------------


def _text(data: Mapping[str, Any], key: str, errors: list[FieldError], limit: int) -> None:
    value = data.get(key)
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(f"data.{key}", "must be a non-empty string"))
    elif len(value) > limit:
        errors.append(FieldError(f"data.{key}", f"must be at most {limit} characters"))


def _unknown(data: Mapping[str, Any], allowed: frozenset[str], errors: list[FieldError]) -> None:
    if data.keys() <= allowed:
        return
    for key in sorted(set(data) - allowed):
        errors.append(FieldError(f"data.{key}", "is not a field of this event type"))


_KINDS = frozenset(k.value for k in TicketKind)
_KIND_LIST = ", ".join(k.value for k in TicketKind)
_OPENED_TEXT = ("plan", "contract", "priority", "customer", "channel", "environment")


def validate_data(event_type: EventType, data: Mapping[str, Any]) -> dict[str, Any]:
    """Check an event's ``data`` and return it normalised (defaults filled, nulls dropped)."""
    errors: list[FieldError] = []
    clean = {k: v for k, v in data.items() if v is not None}
    attributes = clean.pop(ATTRIBUTES, None)
    if attributes is not None:
        _check_attributes(attributes, errors)
    if event_type == "opened":
        _check_opened(clean, errors)
    elif event_type == "priority_changed":
        _unknown(clean, _PRIORITY_FIELDS, errors)
        if "priority" not in clean:
            errors.append(FieldError("data.priority", "is required"))
        _text(clean, "priority", errors, MAX_NAME)
        _text(clean, "reason", errors, MAX_TEXT)
    else:
        _unknown(clean, _NOTE_FIELDS, errors)
        _text(clean, "actor", errors, MAX_NAME)
        _text(clean, "note", errors, MAX_TEXT)
    if errors:
        raise ValidationFailed(errors)
    if attributes is not None:
        clean[ATTRIBUTES] = attributes
    return clean


def _check_attributes(value: Any, errors: list[FieldError]) -> None:
    """Free-form, never interpreted, but storable: a JSON object of at most 4 KB."""
    if type(value) is not dict:
        errors.append(FieldError("data.attributes", "must be a JSON object"))
    elif not _storable(value, 0):
        errors.append(
            FieldError(
                "data.attributes",
                f"must nest at most {_MAX_DEPTH} deep, hold UTF-8 text and numbers"
                " strictly between -2^63 and 2^63",
            )
        )
    elif len(_canonical_json(value, sort_keys=False).encode()) > MAX_ATTRIBUTES_BYTES:
        errors.append(
            FieldError("data.attributes", f"must be at most {MAX_ATTRIBUTES_BYTES} bytes as JSON")
        )


def _storable(value: Any, depth: int) -> bool:
    """JSON every parser and encoder of the service agrees on.

    Numbers strictly within ±2**63, as ints or floats alike: a faster parser reads
    a larger integer as a float, so both spellings are refused. Strings must be
    UTF-8 (a JSON body may carry a lone surrogate escape).
    """
    kind = type(value)
    if kind is str:
        return _utf8(value)
    if kind is bool or value is None:
        return True
    if kind is int or kind is float:
        return bool(-_NUMBER_BOUND < value < _NUMBER_BOUND) and math.isfinite(value)
    if depth >= _MAX_DEPTH:
        return False
    if kind is dict:
        return all(
            type(k) is str and _utf8(k) and _storable(v, depth + 1) for k, v in value.items()
        )
    if kind is list:
        return all(_storable(v, depth + 1) for v in value)
    return False


_NUMBER_BOUND = 2**63


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def check_sequence(value: Any) -> int | None:
    """A ticket event's optional ``sequence``: a non-negative 64-bit integer."""
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_SEQUENCE:
        raise ValidationFailed.single("sequence", "must be a non-negative 64-bit integer")
    return value


def _check_opened(clean: dict[str, Any], errors: list[FieldError]) -> None:
    _unknown(clean, _OPENED_FIELDS, errors)
    if not clean.keys() & {"plan", "contract", "customer"}:
        errors.append(FieldError("data.plan", "is required (or name a contract or a customer)"))
    for key in _OPENED_TEXT:
        _text(clean, key, errors, MAX_NAME)
    kind = clean.setdefault("kind", "incident")
    if not isinstance(kind, str) or kind not in _KINDS:  # a list or an object is unhashable
        errors.append(FieldError("data.kind", f"must be one of {_KIND_LIST}"))


_TYPES = {t.value: t for t in EventType}


def parse_event_type(value: str) -> EventType:
    try:
        return _TYPES[value]
    except KeyError:
        allowed = ", ".join(t.value for t in EventType)
        raise ValidationFailed.single("type", f"unknown event type; one of {allowed}") from None
