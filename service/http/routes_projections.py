"""Dashboard reads from the projections: ticket list, breaches, compliance report.

Every endpoint takes ``min_position`` (the ``position`` a write returned): the
answer waits until the projections have processed it, up to the configured
bound, and past that bound is a 503 with ``Retry-After`` — never an older
state passed off as current.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from domain.business_time import to_us
from domain.errors import ValidationFailed
from domain.instants import to_utc
from projections.reads.compliance import ComplianceQuery
from projections.reads.queries import BreachFilters, Page, TicketFilters
from projections.service import ProjectionService
from service.apidoc.instants import Instant
from service.http.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.http.problems import ProblemError, documented
from service.runtime import Runtime
from service.settings import Settings

router = APIRouter(tags=["projections"], route_class=AuthFirstRoute)
READ = [Depends(require_scope(Scope.TICKETS_READ))]
RESPONSES = {**AUTH_RESPONSES, **documented(409, 422, 503)}
RETRY_AFTER_SECONDS = 1

Name = Annotated[str | None, Query(min_length=1, max_length=128)]
Limit = Annotated[int, Query(ge=1, le=1000, description="items per page")]
CursorQuery = Annotated[
    str | None, Query(max_length=1024, description="next_cursor of the previous page")
]
MinPosition = Annotated[
    int | None,
    Query(ge=0, description="answer only once the projections have processed this position"),
]
Status = Literal["open", "awaiting_customer", "resolved", "closed"]
STATUSES: tuple[str, ...] = get_args(Status)
Metric = Literal["response", "relief", "resolution"]
METRICS: tuple[str, ...] = get_args(Metric)


class ProjectedClockOut(BaseModel):
    metric: str
    calendar: str
    state: str
    outcome: str
    at_risk: bool
    target_seconds: int
    elapsed_seconds: int
    elapsed_as_of: datetime
    suspended_seconds: int = Field(
        description="business seconds a suspension of the ticket's contract held, "
        "as of elapsed_as_of"
    )
    started_at: datetime | None
    due_at: datetime | None
    warn_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None


class ProjectedTicketOut(BaseModel):
    ticket_id: str
    plan: str
    policy_version: int | None
    priority: str | None
    customer: str | None
    kind: str | None
    status: str
    opened_at: datetime
    last_event_at: datetime
    version: int
    position: int
    clocks: list[ProjectedClockOut]


class TicketPageOut(BaseModel):
    items: list[ProjectedTicketOut]
    next_cursor: str | None
    evaluated_at: datetime


class BreachOut(ProjectedClockOut):
    ticket_id: str
    plan: str
    priority: str | None
    customer: str | None
    status: str


class BreachPageOut(BaseModel):
    items: list[BreachOut]
    next_cursor: str | None
    evaluated_at: datetime


class ComplianceGroupOut(BaseModel):
    plan: str
    priority: str
    metric: str
    met: int
    breached: int
    pending: int
    suspended: int = Field(
        description="clocks a suspension of their contract held at some point; "
        "each is also counted as met, breached or pending"
    )
    attainment: float | None
    objective: float | None
    objective_met: bool | None


class ComplianceOut(BaseModel):
    groups: list[ComplianceGroupOut]
    evaluated_at: datetime


def _projections(state: State) -> ProjectionService:
    service = getattr(state, "projection_service", None)
    if not isinstance(service, ProjectionService):
        raise ProblemError(503, "Service unavailable", "the projections are not available")
    return service


async def waited_projections(
    request: Request, min_position: MinPosition = None
) -> ProjectionService:
    """The projections, once they have processed ``min_position`` (awaited, no thread held)."""
    return await projections_at(request.app.state, min_position)


async def projections_at(state: State, min_position: int | None) -> ProjectionService:
    """``waited_projections`` for a caller with the app's state (the read lane too)."""
    service = _projections(state)
    if min_position is None:
        return service
    local = service.local_position()
    runtime: Runtime = state.runtime
    # This server's own writes are known recorded without asking the database.
    if (local is None or local < min_position) and min_position > runtime.writer.last_position:
        await run_in_threadpool(_check_recorded, runtime, min_position)
    settings: Settings = state.settings
    if not await service.wait_for_async(min_position, settings.min_position_timeout_seconds):
        raise ProblemError(
            503,
            "Projections behind",
            f"the projections have not yet processed position {min_position}; retry later",
            slug="projections-behind",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return service


Projections = Annotated[ProjectionService, Depends(waited_projections)]


def _check_recorded(runtime: Runtime, position: int) -> None:
    """A position no write has returned yet is the client's mistake, not a wait to time out."""
    if position > runtime.store.max_position():
        raise ProblemError(
            409,
            "Position not recorded",
            f"no write has returned position {position}: nothing to wait for",
            slug="position-not-recorded",
        )


def _page(page: Page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "evaluated_at": page.evaluated_at}


@router.get(
    "/v1/tickets",
    operation_id="list_tickets",
    dependencies=READ,
    response_model=TicketPageOut,
    responses=RESPONSES,
)
def list_tickets(
    request: Request,
    *,
    plan: Name = None,
    customer: Name = None,
    priority: Name = None,
    status: Status | None = None,
    limit: Limit = 100,
    cursor: CursorQuery = None,
    service: Projections,
) -> dict[str, Any]:
    """Tickets by ticket_id, with their clocks as of now (time-driven breaches included)."""
    filters = TicketFilters(plan, customer, priority, status)
    return _page(service.reader.tickets(filters, limit, cursor))


@router.get(
    "/v1/breaches",
    operation_id="list_breaches",
    dependencies=READ,
    response_model=BreachPageOut,
    responses=RESPONSES,
)
def list_breaches(
    request: Request,
    *,
    state: Literal["breached", "at_risk"] = "breached",
    metric: Metric | None = None,
    plan: Name = None,
    priority: Name = None,
    customer: Name = None,
    open_only: bool = False,
    limit: Limit = 100,
    cursor: CursorQuery = None,
    service: Projections,
) -> dict[str, Any]:
    """Breached clocks, newest breach first; or at-risk ones (``state=at_risk``), soonest due first.

    A running clock counts as breached from its due instant on, decided at query
    time; ``open_only`` keeps tickets that are open or awaiting the customer.
    """
    filters = BreachFilters(state, metric, plan, priority, customer, open_only)
    return _page(service.reader.breaches(filters, limit, cursor))


@router.get(
    "/v1/reports/compliance",
    operation_id="compliance_report",
    dependencies=READ,
    response_model=ComplianceOut,
    responses=RESPONSES,
)
def compliance_report(
    request: Request,
    *,
    from_: Annotated[Instant | None, Query(alias="from", description="opened at or after")] = None,
    to: Annotated[Instant | None, Query(description="opened before")] = None,
    plan: Name = None,
    priority: Name = None,
    customer: Name = None,
    metric: Metric | None = None,
    service: Projections,
) -> dict[str, Any]:
    """met / breached / pending and attainment per plan, priority and metric."""
    from_ = None if from_ is None else to_utc(from_, "from")
    to = None if to is None else to_utc(to, "to")
    if from_ is not None and to is not None and from_ >= to:
        raise ValidationFailed.single("to", "must be later than from")
    query = ComplianceQuery(
        from_us=None if from_ is None else to_us(from_),
        to_us=None if to is None else to_us(to),
        plan=plan,
        priority=priority,
        customer=customer,
        metric=metric,
    )
    groups, evaluated_at = service.compliance(query)
    return {"groups": groups, "evaluated_at": evaluated_at}
