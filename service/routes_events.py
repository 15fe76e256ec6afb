"""Ticket event ingest and the audit trail."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime, ValidationError

from service.application import EventInput
from service.auth import AUTH_RESPONSES, Scope, require_scope
from service.dependencies import Service
from service.eventstore import RecordedEvent
from service.ingest import Receipt
from service.problems import documented, problem_body, problem_for
from service.schemas import (
    TICKET_ID_PATTERN,
    BatchIn,
    BatchItemIn,
    BatchOut,
    EventIn,
    EventReceipt,
    HistoryOut,
    RecordedEventOut,
)

router = APIRouter(tags=["events"])
TicketIdPath = Annotated[str, Path(pattern=TICKET_ID_PATTERN, max_length=128)]
WRITE = [Depends(require_scope(Scope.EVENTS_WRITE))]


@router.post(
    "/v1/tickets/{ticket_id}/events",
    operation_id="post_ticket_event",
    status_code=201,
    dependencies=WRITE,
    response_model=EventReceipt,
    responses={
        200: {"model": EventReceipt, "description": "A retry: the first answer"},
        **AUTH_RESPONSES,
        **documented(400, 404, 409, 413, 422, 503),
    },
)
async def post_event(ticket_id: TicketIdPath, body: EventIn, service: Service) -> Response:
    item = EventInput(ticket_id, body.event_id, body.type, body.occurred_at, body.data)
    receipt = await service.record_event(item)
    # A plain JSON response: the hot path skips re-validating what it just built.
    return _json(_receipt_body(receipt), 201 if receipt.created else 200)


def _receipt_body(receipt: Receipt) -> dict[str, Any]:
    return {
        "ticket_id": receipt.ticket_id,
        "event_id": receipt.event_id,
        "version": receipt.version,
        "position": receipt.position,
        "recorded_at": _instant(receipt.recorded_at),
    }


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    content = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return Response(content, status_code=status, media_type="application/json")


def _batch_items(raw: list[dict[str, Any]]) -> list[EventInput | Exception]:
    """Well-formed items take a fast path; anything unusual gets pydantic's full answer."""
    return [_fast_item(entry) or _one_item(entry) for entry in raw]


_ITEM_KEYS = frozenset({"ticket_id", "event_id", "type", "occurred_at", "data"})
_TICKET_ID = re.compile(TICKET_ID_PATTERN)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")


def _fast_item(entry: dict[str, Any]) -> EventInput | None:
    """The common case, checked by hand: the same rules as BatchItemIn, or None to defer."""
    if not entry.keys() <= _ITEM_KEYS:
        return None
    ticket_id, event_id = entry.get("ticket_id"), entry.get("event_id")
    event_type, instant = entry.get("type"), entry.get("occurred_at")
    data = entry.get("data", {})
    if not (isinstance(ticket_id, str) and _TICKET_ID.match(ticket_id)):
        return None
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 128):
        return None
    if not (isinstance(event_type, str) and isinstance(instant, str) and isinstance(data, dict)):
        return None
    occurred_at = _aware(instant)
    if occurred_at is None:
        return None
    return EventInput(ticket_id, event_id, event_type, occurred_at, data)


def _aware(text: str) -> datetime | None:
    if not _RFC3339.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _one_item(entry: dict[str, Any]) -> EventInput | Exception:
    try:
        item = BatchItemIn.model_validate(entry)
    except ValidationError as error:
        return error
    return EventInput(item.ticket_id, item.event_id, item.type, item.occurred_at, item.data)


def _batch_result(result: Receipt | Exception) -> dict[str, Any]:
    if isinstance(result, Receipt):
        return {
            "status": 201 if result.created else 200,
            "ticket_id": result.ticket_id,
            "event_id": result.event_id,
            "version": result.version,
            "position": result.position,
            "recorded_at": _instant(result.recorded_at),
        }
    problem = problem_for(result)
    return problem_body(problem.status, problem.title, problem.detail, problem.slug, problem.errors)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@router.post(
    "/v1/events/batch",
    operation_id="post_event_batch",
    dependencies=WRITE,
    response_model=BatchOut,
    responses={**AUTH_RESPONSES, **documented(400, 413, 422, 503)},
)
async def post_batch(body: BatchIn, service: Service) -> Response:
    results = await service.record_batch(_batch_items(body.events))
    return _json({"results": [_batch_result(r) for r in results]})


def _recorded(recorded: RecordedEvent) -> RecordedEventOut:
    event: Any = recorded.event
    return RecordedEventOut(
        event_id=event.event_id,
        type=event.type.value,
        occurred_at=event.occurred_at,
        recorded_at=event.timestamp,
        version=event.originator_version,
        position=recorded.position,
        data=event.data,
    )


@router.get(
    "/v1/tickets/{ticket_id}/events",
    operation_id="get_ticket_events",
    dependencies=[Depends(require_scope(Scope.AUDIT_READ))],
    response_model=HistoryOut,
    responses={**AUTH_RESPONSES, **documented(404, 422)},
)
def get_events(
    ticket_id: TicketIdPath,
    service: Service,
    as_known_at: Annotated[AwareDatetime | None, Query(description="RFC 3339 instant")] = None,
) -> HistoryOut:
    history = service.history(ticket_id, as_known_at)
    return HistoryOut(ticket_id=ticket_id, events=[_recorded(r) for r in history])
