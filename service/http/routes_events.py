"""Ticket event ingest and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from service.apidoc.instants import Instant
from service.application import EventInput
from service.event_bodies import batch_body, batch_items, json_bytes, receipt_body
from service.http.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.http.dependencies import Service
from service.http.problems import documented
from service.http.schemas import (
    TICKET_ID_PATTERN,
    BatchIn,
    BatchOut,
    EventIn,
    EventReceipt,
    HistoryOut,
    RecordedEventOut,
    TicketRecordedEventOut,
)
from service.storage.eventstore import RecordedEvent

router = APIRouter(tags=["events"], route_class=AuthFirstRoute)
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
    item = EventInput(
        ticket_id, body.event_id, body.type, body.occurred_at, body.data, body.sequence
    )
    receipt = await service.record_event(item)
    # A plain JSON response: the hot path skips re-validating what it just built.
    return _json(receipt_body(receipt), 201 if receipt.created else 200)


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(json_bytes(payload), status_code=status, media_type="application/json")


@router.post(
    "/v1/events/batch",
    operation_id="post_event_batch",
    dependencies=WRITE,
    response_model=BatchOut,
    responses={**AUTH_RESPONSES, **documented(400, 413, 422, 503)},
)
async def post_batch(body: BatchIn, service: Service) -> Response:
    results = await service.record_batch(batch_items(body.events))
    return _json(batch_body(results))


def recorded_out(recorded: RecordedEvent) -> RecordedEventOut:
    return RecordedEventOut(**_recorded_fields(recorded))


def ticket_recorded_out(recorded: RecordedEvent) -> TicketRecordedEventOut:
    sequence = getattr(recorded.event, "sequence", None)
    return TicketRecordedEventOut(**_recorded_fields(recorded), sequence=sequence)


def _recorded_fields(recorded: RecordedEvent) -> dict[str, Any]:
    event: Any = recorded.event
    return {
        "event_id": event.event_id,
        "type": event.type.value,
        "occurred_at": event.occurred_at,
        "recorded_at": event.timestamp,
        "version": event.originator_version,
        "position": recorded.position,
        "data": event.data,
    }


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
    as_known_at: Annotated[Instant | None, Query(description="RFC 3339 instant")] = None,
) -> HistoryOut:
    history = service.history(ticket_id, as_known_at)
    return HistoryOut(ticket_id=ticket_id, events=[ticket_recorded_out(r) for r in history])
