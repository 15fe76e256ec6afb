"""Reading one ticket's clocks and a clock's ledger, computed from its own events."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from domain.clocks import Clock, Segment, TicketState
from service.apidoc.instants import Instant
from service.http.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.http.dependencies import Service
from service.http.problems import documented
from service.http.schemas import TICKET_ID_PATTERN, ClockOut, SegmentOut, SegmentsOut, TicketOut

router = APIRouter(tags=["tickets"], route_class=AuthFirstRoute)
TicketIdPath = Annotated[str, Path(pattern=TICKET_ID_PATTERN, max_length=128)]
AsOf = Annotated[Instant | None, Query(description="evaluate the clocks at this instant")]
AsKnownAt = Annotated[
    Instant | None, Query(description="use only what was recorded at or before this instant")
]
READ = [Depends(require_scope(Scope.TICKETS_READ))]
Metric = Literal["response", "relief", "resolution"]


def clock_out(clock: Clock) -> ClockOut:
    return ClockOut(
        metric=clock.metric,
        calendar=clock.calendar,
        state=clock.state,
        outcome=clock.outcome,
        at_risk=clock.at_risk,
        target_seconds=clock.target_seconds,
        elapsed_seconds=clock.elapsed_seconds,
        remaining_seconds=clock.remaining_seconds,
        started_at=clock.started_at,
        due_at=clock.due_at,
        warn_at=clock.warn_at,
        stopped_at=clock.stopped_at,
        breached_at=clock.breached_at,
        suspended_seconds=clock.suspended_seconds,
    )


def ticket_out(state: TicketState) -> TicketOut:
    return TicketOut(
        ticket_id=state.ticket_id,
        plan=state.plan,
        policy_version=state.policy_version,
        priority=state.priority,
        customer=state.customer,
        kind=state.kind,
        status=state.status,
        opened_at=state.opened_at,
        evaluated_at=state.evaluated_at,
        clocks=[clock_out(c) for c in state.clocks],
    )


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(
        start=segment.start,
        end=segment.end,
        kind=segment.kind,
        seconds=segment.seconds,
        calendar=segment.calendar,
        event_id=segment.event_id,
    )


@router.get(
    "/v1/tickets/{ticket_id}",
    operation_id="get_ticket",
    dependencies=READ,
    response_model=TicketOut,
    responses={**AUTH_RESPONSES, **documented(404, 409, 422)},
)
def get_ticket(
    ticket_id: TicketIdPath, service: Service, as_of: AsOf = None, as_known_at: AsKnownAt = None
) -> TicketOut:
    return ticket_out(service.ticket(ticket_id, as_of, as_known_at))


@router.get(
    "/v1/tickets/{ticket_id}/clocks/{metric}/segments",
    operation_id="get_clock_segments",
    dependencies=READ,
    response_model=SegmentsOut,
    responses={**AUTH_RESPONSES, **documented(404, 409, 422)},
)
def get_segments(
    ticket_id: TicketIdPath,
    metric: Metric,
    service: Service,
    as_of: AsOf = None,
    as_known_at: AsKnownAt = None,
) -> SegmentsOut:
    clock, evaluated_at = service.clock(ticket_id, metric, as_of, as_known_at)
    return SegmentsOut(
        ticket_id=ticket_id,
        metric=metric,
        evaluated_at=evaluated_at,
        segments=[segment_out(s) for s in clock.segments],
    )
