"""Contracts: their events, their state at an instant, and the lists for dashboards."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from domain.allowances import AllowanceReport
from domain.contract_view import ContractView, TermView
from service.apidoc.instants import Instant
from service.contracts import AllowanceItem, ContractInput
from service.event_bodies import instant_text, json_bytes
from service.http.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.http.dependencies import Service
from service.http.problems import documented
from service.http.routes_events import recorded_out
from service.http.schemas import CATALOG_ID_PATTERN
from service.http.schemas_contracts import (
    AllowanceItemOut,
    AllowanceOut,
    AllowancePageOut,
    ContractEventIn,
    ContractEventReceipt,
    ContractHistoryOut,
    ContractOut,
    ContractPageOut,
    TermOut,
)

router = APIRouter(tags=["contracts"], route_class=AuthFirstRoute)
ContractIdPath = Annotated[str, Path(pattern=CATALOG_ID_PATTERN, max_length=128)]
AsOf = Annotated[Instant | None, Query(description="evaluate at this instant")]
AsKnownAt = Annotated[
    Instant | None, Query(description="use only what was recorded at or before this instant")
]
Limit = Annotated[int, Query(ge=1, le=1000)]
CursorQuery = Annotated[
    str | None, Query(max_length=1024, description="next_cursor of the previous page")
]
Name = Annotated[str | None, Query(min_length=1, max_length=128)]
READ = [Depends(require_scope(Scope.TICKETS_READ))]


@router.post(
    "/v1/contracts/{contract_id}/events",
    operation_id="post_contract_event",
    status_code=201,
    dependencies=[Depends(require_scope(Scope.CONTRACTS_WRITE))],
    response_model=ContractEventReceipt,
    responses={
        200: {"model": ContractEventReceipt, "description": "A retry: the first answer"},
        **AUTH_RESPONSES,
        **documented(400, 404, 409, 413, 422, 503),
    },
)
async def post_contract_event(
    contract_id: ContractIdPath, body: ContractEventIn, service: Service
) -> Response:
    item = ContractInput(contract_id, body.event_id, body.type, body.occurred_at, body.data)
    receipt = await service.contracts.record(item)
    payload = {
        "contract_id": receipt.contract_id,
        "event_id": receipt.event_id,
        "version": receipt.version,
        "position": receipt.position,
        "recorded_at": instant_text(receipt.recorded_at),
    }
    return Response(
        json_bytes(payload),
        status_code=201 if receipt.created else 200,
        media_type="application/json",
    )


@router.get(
    "/v1/contracts/{contract_id}",
    operation_id="get_contract",
    dependencies=READ,
    response_model=ContractOut,
    responses={**AUTH_RESPONSES, **documented(404, 422)},
)
def get_contract(
    contract_id: ContractIdPath, service: Service, as_of: AsOf = None, as_known_at: AsKnownAt = None
) -> ContractOut:
    return contract_out(service.contracts.read(contract_id, as_of, as_known_at))


@router.get(
    "/v1/contracts/{contract_id}/events",
    operation_id="get_contract_events",
    dependencies=[Depends(require_scope(Scope.AUDIT_READ))],
    response_model=ContractHistoryOut,
    responses={**AUTH_RESPONSES, **documented(404, 422)},
)
def get_contract_events(
    contract_id: ContractIdPath, service: Service, as_known_at: AsKnownAt = None
) -> ContractHistoryOut:
    history = service.contracts.history(contract_id, as_known_at)
    return ContractHistoryOut(contract_id=contract_id, events=[recorded_out(r) for r in history])


@router.get(
    "/v1/contracts",
    operation_id="list_contracts",
    dependencies=READ,
    response_model=ContractPageOut,
    responses={**AUTH_RESPONSES, **documented(422)},
)
def list_contracts(
    service: Service,
    *,
    customer: Name = None,
    plan: Name = None,
    status: Literal["active", "suspended", "ended", "not_started"] | None = None,
    as_of: AsOf = None,
    limit: Limit = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    filters = {"customer": customer, "plan": plan, "status": status, "as_of": as_of}
    page = service.contracts.contracts(filters, limit, cursor)
    items = [contract_out(v) for v in page.items]
    return {"items": items, "next_cursor": page.next_cursor, "evaluated_at": page.evaluated_at}


@router.get(
    "/v1/allowances",
    operation_id="list_allowances",
    dependencies=READ,
    response_model=AllowancePageOut,
    responses={**AUTH_RESPONSES, **documented(422)},
)
def list_allowances(
    service: Service,
    *,
    state: Literal["low", "expiring", "exhausted"] | None = None,
    within_days: Annotated[int, Query(ge=0, le=3660)] = 30,
    as_of: AsOf = None,
    limit: Limit = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    filters = {"state": state, "within_days": within_days, "as_of": as_of}
    page = service.contracts.allowances(filters, limit, cursor)
    items = [allowance_item_out(i) for i in page.items]
    return {"items": items, "next_cursor": page.next_cursor, "evaluated_at": page.evaluated_at}


def allowance_out(report: AllowanceReport) -> AllowanceOut:
    return AllowanceOut(**_allowance_fields(report))


def _allowance_fields(report: AllowanceReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "unit": report.unit,
        "term": report.term,
        "granted": float(report.granted),
        "used": float(report.used),
        "onsite_used": float(report.onsite_used),
        "balance": float(report.balance),
        "overdrawn": report.overdrawn,
        "expires_at": report.expires_at,
        "forfeited": None if report.forfeited is None else float(report.forfeited),
    }


def allowance_item_out(item: AllowanceItem) -> AllowanceItemOut:
    return AllowanceItemOut(
        contract_id=item.contract_id,
        customer=item.customer,
        plan=item.plan,
        **_allowance_fields(item.report),
    )


def term_out(term: TermView) -> TermOut:
    return TermOut(
        number=term.number,
        start=term.start,
        end=term.end,
        allowances=[allowance_out(a) for a in term.allowances],
    )


def contract_out(view: ContractView) -> ContractOut:
    return ContractOut(
        contract_id=view.contract_id,
        customer=view.customer,
        plan=view.plan,
        calendar=view.calendar,
        status=view.status,
        started_at=view.started_at,
        ends_at=view.ends_at,
        evaluated_at=view.evaluated_at,
        term=None if view.term is None else term_out(view.term),
        past_terms=[term_out(t) for t in view.past_terms],
    )
