"""Service outage events, uptime per month, and service credits (docs/uptime.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from domain.credits import Verdict
from domain.uptime import MonthUptime, TierFailure
from service.apidoc.instants import Instant
from service.credit_reads import ContractCredits, MonthCredit
from service.event_bodies import json_bytes, service_receipt_body
from service.http.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.http.problems import ProblemError, documented
from service.http.routes_events import recorded_out
from service.http.schemas import TICKET_ID_PATTERN
from service.http.uptime_schemas import (
    ClaimableCreditOut,
    ClaimableCreditsOut,
    ClaimOut,
    ContractCreditsOut,
    MonthCreditOut,
    MonthUptimeOut,
    OutageOut,
    ServiceEventIn,
    ServiceEventReceipt,
    ServiceHistoryOut,
    ServiceUptimeOut,
    TierFailureOut,
)
from service.service_events import ServiceEventInput
from service.uptime_api import UptimeApi
from service.uptime_reads import month_range

router = APIRouter(tags=["uptime"], route_class=AuthFirstRoute)
IdPath = Annotated[str, Path(pattern=TICKET_ID_PATTERN, max_length=128)]
AsOf = Annotated[Instant | None, Query(description="evaluate at this instant (RFC 3339)")]
AsKnownAt = Annotated[
    Instant | None, Query(description="use only what was recorded at or before this instant")
]
MONTH = r"^\d{4}-\d{2}$"
READ = [Depends(require_scope(Scope.TICKETS_READ))]


async def get_uptime(request: Request) -> UptimeApi:
    uptime = getattr(request.app.state, "uptime", None)
    if uptime is None:
        raise ProblemError(503, "Service unavailable", "the service is starting or stopping")
    assert isinstance(uptime, UptimeApi)
    return uptime


Uptime = Annotated[UptimeApi, Depends(get_uptime)]


@router.post(
    "/v1/services/{service_id}/events",
    operation_id="post_service_event",
    status_code=201,
    dependencies=[Depends(require_scope(Scope.EVENTS_WRITE))],
    response_model=ServiceEventReceipt,
    responses={
        200: {"model": ServiceEventReceipt, "description": "A retry: the first answer"},
        **AUTH_RESPONSES,
        **documented(400, 409, 413, 422, 503),
    },
)
async def post_service_event(service_id: IdPath, body: ServiceEventIn, uptime: Uptime) -> Response:
    item = ServiceEventInput(service_id, body.event_id, body.type, body.occurred_at, body.data)
    receipt = await uptime.events.record(item)
    status = 201 if receipt.created else 200
    payload = json_bytes(service_receipt_body(receipt))
    return Response(payload, status_code=status, media_type="application/json")


@router.get(
    "/v1/services/{service_id}/events",
    operation_id="get_service_events",
    dependencies=[Depends(require_scope(Scope.AUDIT_READ))],
    response_model=ServiceHistoryOut,
    responses={**AUTH_RESPONSES, **documented(404, 422)},
)
def get_service_events(
    service_id: IdPath, uptime: Uptime, as_known_at: AsKnownAt = None
) -> ServiceHistoryOut:
    history = uptime.events.history(service_id, as_known_at)
    return ServiceHistoryOut(service_id=service_id, events=[recorded_out(r) for r in history])


@router.get(
    "/v1/services/{service_id}/uptime",
    operation_id="get_service_uptime",
    dependencies=READ,
    response_model=ServiceUptimeOut,
    responses={**AUTH_RESPONSES, **documented(404, 422)},
)
def get_service_uptime(
    service_id: IdPath,
    uptime: Uptime,
    *,
    first: Annotated[str, Query(alias="from", pattern=MONTH, examples=["2026-01"])],
    last: Annotated[str, Query(alias="to", pattern=MONTH, examples=["2026-06"])],
    timezone: Annotated[str | None, Query(description="default: the uptime terms' zone")] = None,
    as_of: AsOf = None,
    as_known_at: AsKnownAt = None,
) -> ServiceUptimeOut:
    found = uptime.services.uptime(
        service_id, month_range(first, last), timezone, uptime.instants(as_of, as_known_at)
    )
    return ServiceUptimeOut(
        service_id=found.service_id,
        timezone=found.timezone,
        plan=found.plan,
        evaluated_at=_second(found.evaluated_at),
        months=[MonthUptimeOut(**_month(m)) for m in found.months],
    )


@router.get(
    "/v1/contracts/{contract_id}/credits",
    operation_id="get_contract_credits",
    dependencies=READ,
    response_model=ContractCreditsOut,
    responses={**AUTH_RESPONSES, **documented(404, 422)},
)
def get_contract_credits(
    contract_id: IdPath, uptime: Uptime, as_of: AsOf = None, as_known_at: AsKnownAt = None
) -> ContractCreditsOut:
    credits = uptime.credits.contract(contract_id, uptime.instants(as_of, as_known_at))
    return ContractCreditsOut(
        contract_id=credits.contract_id,
        customer=credits.customer,
        evaluated_at=_second(credits.evaluated_at),
        months=[_month_credit(m) for m in credits.months],
        claims=[_claim(v) for v in credits.verdicts],
    )


@router.get(
    "/v1/credits",
    operation_id="get_claimable_credits",
    dependencies=READ,
    response_model=ClaimableCreditsOut,
    responses={**AUTH_RESPONSES, **documented(422)},
)
def get_credits(
    uptime: Uptime,
    state: Annotated[Literal["claimable"], Query(description="only claimable is offered")],
    as_of: AsOf = None,
) -> ClaimableCreditsOut:
    when = uptime.instants(as_of, None)
    found = uptime.credits.claimable(when)
    return ClaimableCreditsOut(
        evaluated_at=_second(when.at), credits=[_claimable(c, m) for c, m in found]
    )


# --- shapes: instants are shown truncated to whole seconds --------------------------


def _second(instant: datetime) -> datetime:
    return instant.replace(microsecond=0)


def _maybe(instant: datetime | None) -> datetime | None:
    return None if instant is None else _second(instant)


def _failure(failure: TierFailure) -> TierFailureOut:
    outage = failure.tipping_outage
    return TierFailureOut(
        below=failure.tier.below,
        days=failure.tier.days,
        tipping_at=_second(failure.tipping_at),
        tipping_outage=OutageOut(
            start=_second(outage.start),
            end=_maybe(failure.outage_ended_at),
            started_by=outage.started_by,
            ended_by=outage.ended_by if failure.outage_ended_at is not None else None,
        ),
        claim_deadline=_maybe(failure.claim_deadline),
    )


def _month(month: MonthUptime) -> dict[str, Any]:
    credit = month.credit
    return {
        "month": month.month.label,
        "start": month.start,
        "end": month.end,
        "length_seconds": month.length_seconds,
        "downtime_seconds": month.downtime_seconds,
        "uptime": month.uptime,
        "tiers_failed": [_failure(f) for f in month.failures],
        "credit_days": None if credit is None else credit.tier.days,
        "claim_deadline": None if credit is None else _maybe(credit.claim_deadline),
    }


def _month_credit(month: MonthCredit) -> MonthCreditOut:
    return MonthCreditOut(
        **_month(month.uptime),
        service=month.service,
        plan=month.plan,
        eligible=month.uptime.credit is not None,
        claimed=month.claimed,
        claimable=month.claimable,
    )


def _claim(verdict: Verdict) -> ClaimOut:
    claim = verdict.claim
    return ClaimOut(
        event_id=claim.event_id,
        service=claim.service,
        month=claim.month.label,
        occurred_at=claim.occurred_at,
        recorded_at=claim.recorded_at,
        evidence=claim.evidence,
        verdict=verdict.verdict,
        reason=verdict.reason,
        days=verdict.days,
    )


def _claimable(credits: ContractCredits, month: MonthCredit) -> ClaimableCreditOut:
    credit = month.uptime.credit
    assert credit is not None
    return ClaimableCreditOut(
        contract_id=credits.contract_id,
        customer=credits.customer,
        service=month.service,
        month=month.uptime.month.label,
        days=credit.tier.days,
        tipping_at=_second(credit.tipping_at),
        claim_deadline=_maybe(credit.claim_deadline),
    )
