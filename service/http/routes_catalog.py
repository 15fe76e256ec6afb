"""Calendars and policies: versioned, event-sourced, validated on the way in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from service.application import VersionView
from service.http.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.http.dependencies import Service
from service.http.problems import documented
from service.http.schemas import (
    CATALOG_ID_PATTERN,
    CalendarIn,
    CalendarOut,
    CalendarVersionOut,
    PolicyIn,
    PolicyOut,
    PolicyVersionOut,
    VersionInfo,
    VersionsOut,
)
from service.ingest import VersionReceipt

router = APIRouter(tags=["catalog"], route_class=AuthFirstRoute)
CatalogId = Annotated[str, Path(pattern=CATALOG_ID_PATTERN, max_length=128)]
WRITE = [Depends(require_scope(Scope.POLICIES_WRITE))]
READ = [Depends(require_scope(Scope.TICKETS_READ))]
PUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Nothing changed: the newest version"},
    **AUTH_RESPONSES,
    **documented(400, 413, 422, 503),
}


def _document(body: CalendarIn | PolicyIn) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_unset=True, exclude={"effective_from"})


def _status(receipt: VersionReceipt, response: Response) -> None:
    response.status_code = 201 if receipt.created else 200


def _versions(views: list[VersionView], key: str) -> VersionsOut:
    infos = [
        VersionInfo(version=v.number, effective_from=v.effective_from, recorded_at=v.recorded_at)
        for v in views
    ]
    return VersionsOut(id=key, versions=infos)


@router.put(
    "/v1/calendars/{calendar_id}",
    operation_id="put_calendar",
    status_code=201,
    dependencies=WRITE,
    response_model=CalendarVersionOut,
    responses={**PUT_RESPONSES, **documented(409)},
)
async def put_calendar(
    calendar_id: CatalogId, body: CalendarIn, service: Service, response: Response
) -> CalendarVersionOut:
    receipt = await service.define_version(
        "calendar", calendar_id, _document(body), body.effective_from
    )
    _status(receipt, response)
    return CalendarVersionOut(
        calendar_id=calendar_id, version=receipt.version, effective_from=receipt.effective_from
    )


@router.get(
    "/v1/calendars/{calendar_id}",
    operation_id="get_calendar",
    dependencies=READ,
    response_model=CalendarOut,
    responses={**AUTH_RESPONSES, **documented(404)},
)
def get_calendar(
    calendar_id: CatalogId, service: Service, version: Annotated[int | None, Query(ge=1)] = None
) -> CalendarOut:
    view = service.calendar_version(calendar_id, version)
    return CalendarOut(
        calendar_id=calendar_id,
        version=view.number,
        effective_from=view.effective_from,
        recorded_at=view.recorded_at,
        **view.document,
    )


@router.get(
    "/v1/calendars/{calendar_id}/versions",
    operation_id="get_calendar_versions",
    dependencies=READ,
    response_model=VersionsOut,
    responses={**AUTH_RESPONSES, **documented(404)},
)
def get_calendar_versions(calendar_id: CatalogId, service: Service) -> VersionsOut:
    return _versions(service.versions("calendar", calendar_id), calendar_id)


@router.put(
    "/v1/policies/{plan_id}",
    operation_id="put_policy",
    status_code=201,
    dependencies=WRITE,
    response_model=PolicyVersionOut,
    responses=PUT_RESPONSES,
)
async def put_policy(
    plan_id: CatalogId, body: PolicyIn, service: Service, response: Response
) -> PolicyVersionOut:
    receipt = await service.define_version("policy", plan_id, _document(body), body.effective_from)
    _status(receipt, response)
    return PolicyVersionOut(
        plan_id=plan_id, version=receipt.version, effective_from=receipt.effective_from
    )


@router.get(
    "/v1/policies/{plan_id}",
    operation_id="get_policy",
    dependencies=READ,
    response_model=PolicyOut,
    responses={**AUTH_RESPONSES, **documented(404)},
)
def get_policy(
    plan_id: CatalogId, service: Service, version: Annotated[int | None, Query(ge=1)] = None
) -> PolicyOut:
    view = service.version("policy", plan_id, version)
    return PolicyOut(
        plan_id=plan_id,
        version=view.number,
        effective_from=view.effective_from,
        recorded_at=view.recorded_at,
        **view.document,
    )


@router.get(
    "/v1/policies/{plan_id}/versions",
    operation_id="get_policy_versions",
    dependencies=READ,
    response_model=VersionsOut,
    responses={**AUTH_RESPONSES, **documented(404)},
)
def get_policy_versions(plan_id: CatalogId, service: Service) -> VersionsOut:
    return _versions(service.versions("policy", plan_id), plan_id)
