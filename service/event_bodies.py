"""Event bodies in and receipts out: the shapes both ingest paths share.

The declared routes (service/http/routes_events.py) and the fast lane
(service/http/fastlane.py) parse and answer through these functions, so they cannot
drift apart.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from domain.events import MAX_SEQUENCE
from service.application import EventInput
from service.http.problems import problem_body, problem_for
from service.http.schemas import TICKET_ID_PATTERN, BatchItemIn
from service.ingest import Receipt
from service.outage_ingest import ServiceReceipt
from service.service_events import ServiceEventInput

_ITEM_KEYS = frozenset({"ticket_id", "event_id", "type", "occurred_at", "data", "sequence"})
_SERVICE_KEYS = frozenset({"event_id", "type", "occurred_at", "data"})
# Always fullmatch: Python's ``$`` also matches before a final newline, so
# ``.match`` would let "abc\n" through where the declared routes refuse it.
_TICKET_ID = re.compile(TICKET_ID_PATTERN)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


def well_formed(entry: dict[str, Any]) -> EventInput | None:
    """An event checked by hand against BatchItemIn's rules, or None to defer to pydantic."""
    if not entry.keys() <= _ITEM_KEYS:
        return None
    ticket_id, event_id = entry.get("ticket_id"), entry.get("event_id")
    event_type, instant = entry.get("type"), entry.get("occurred_at")
    data = entry.get("data", {})
    if not (isinstance(ticket_id, str) and _TICKET_ID.fullmatch(ticket_id)):
        return None
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 128):
        return None
    if not (isinstance(event_type, str) and isinstance(instant, str) and isinstance(data, dict)):
        return None
    occurred_at = _aware(instant)
    sequence = entry.get("sequence")
    if occurred_at is None or not (sequence is None or _is_sequence(sequence)):
        return None
    return EventInput(ticket_id, event_id, event_type, occurred_at, data, sequence)


def _is_sequence(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_SEQUENCE


def well_formed_service(service_id: str, entry: dict[str, Any]) -> ServiceEventInput | None:
    """A service event checked by hand against ServiceEventIn's rules, or None for pydantic."""
    if not (entry.keys() <= _SERVICE_KEYS and _TICKET_ID.fullmatch(service_id)):
        return None
    event_id, event_type = entry.get("event_id"), entry.get("type")
    instant, data = entry.get("occurred_at"), entry.get("data", {})
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 128):
        return None
    if not (isinstance(event_type, str) and isinstance(instant, str) and isinstance(data, dict)):
        return None
    occurred_at = _aware(instant)
    if occurred_at is None:
        return None
    return ServiceEventInput(service_id, event_id, event_type, occurred_at, data)


def service_receipt_body(receipt: ServiceReceipt) -> dict[str, Any]:
    return {
        "service_id": receipt.service_id,
        "event_id": receipt.event_id,
        "version": receipt.version,
        "position": receipt.position,
        "recorded_at": instant_text(receipt.recorded_at),
    }


def _aware(text: str) -> datetime | None:
    if not _RFC3339.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def receipt_body(receipt: Receipt) -> dict[str, Any]:
    return {
        "ticket_id": receipt.ticket_id,
        "event_id": receipt.event_id,
        "version": receipt.version,
        "position": receipt.position,
        "recorded_at": instant_text(receipt.recorded_at),
    }


@functools.lru_cache(maxsize=256)
def instant_text(moment: datetime) -> str:
    # Cached: every receipt of a committed group carries the same recorded_at.
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_bytes(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as json.dumps(separators=(",", ":"), ensure_ascii=False) writes it."""
    return orjson.dumps(payload)


def batch_items(raw: list[dict[str, Any]]) -> list[EventInput | Exception]:
    """Well-formed items take a fast path; anything unusual gets pydantic's full answer."""
    return [well_formed(entry) or _one_item(entry) for entry in raw]


def _one_item(entry: dict[str, Any]) -> EventInput | Exception:
    try:
        item = BatchItemIn.model_validate(entry)
    except ValidationError as error:
        return error
    return EventInput(
        item.ticket_id, item.event_id, item.type, item.occurred_at, item.data, item.sequence
    )


def batch_body(results: list[Receipt | Exception]) -> dict[str, Any]:
    return {"results": [_batch_result(r) for r in results]}


def _batch_result(result: Receipt | Exception) -> dict[str, Any]:
    if isinstance(result, Receipt):
        return {"status": 201 if result.created else 200, **receipt_body(result)}
    problem = problem_for(result)
    return problem_body(problem.status, problem.title, problem.detail, problem.slug, problem.errors)
