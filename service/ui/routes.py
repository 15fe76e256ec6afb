"""The dashboard's routes: thin handlers over overview, timeline and charts (docs/dashboard.md)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.contract_events import ContractEvent
from domain.events import TicketEvent
from projections.service import ProjectionService
from service.http.dependencies import Service
from service.http.problems import ProblemError
from service.http.routes_uptime import Uptime
from service.http.schemas import CATALOG_ID_PATTERN, TICKET_ID_PATTERN
from service.ui import charts, overview
from service.ui.freshness import Recent
from service.ui.months import default_months
from service.ui.pages import page, parse_instant, picker_value, render
from service.ui.session import (
    HOME,
    check_token,
    clear_cookie,
    safe_next,
    set_cookie,
    signed_in,
)
from service.ui.timeline import ticket_timeline
from service.uptime_reads import month_range

router = APIRouter(include_in_schema=False)
pages = APIRouter(include_in_schema=False, dependencies=[Depends(signed_in)])
TicketId = Annotated[str, Path(pattern=TICKET_ID_PATTERN, max_length=128)]
CatalogId = Annotated[str, Path(pattern=CATALOG_ID_PATTERN, max_length=128)]
Picked = Annotated[str | None, Query(max_length=64)]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]


def _projections(request: Request) -> ProjectionService:
    service = getattr(request.app.state, "projection_service", None)
    if not isinstance(service, ProjectionService):
        raise ProblemError(503, "Service unavailable", "the projections are not available")
    return service


@router.get("/ui/sign-in", response_class=HTMLResponse)
def sign_in_form(
    request: Request, next: Annotated[str | None, Query(max_length=2048)] = None
) -> Response:
    return render(request, "sign_in.html", {"next": safe_next(next), "error": None})


@router.post("/ui/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = form.get("token", [""])[0]
    target = safe_next(form.get("next", [HOME])[0])
    error = await check_token(request, token)
    if error is not None:
        context = {"next": target, "error": error}
        # 200: the form shown again with its message, as a browser expects after a POST.
        return render(request, "sign_in.html", context)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, token)
    return response


@router.post("/ui/sign-out")
def sign_out() -> Response:
    response = RedirectResponse("/ui/sign-in", status_code=303)
    clear_cookie(response)
    return response


Window = Annotated[str, Query(pattern="^(7|30|90|all)$")]


def _compliance(request: Request, window: str) -> dict[str, Any]:
    """The window's latest compliance figures, or ``report`` None while the first is computed."""
    projections = _projections(request)
    recent: Recent[overview.Compliance] = request.app.state.ui_compliance
    found = recent.get(window, lambda: overview.compliance(projections, window))
    return {"report": found, "window": window, "windows": list(overview.WINDOWS)}


@pages.get("/ui", response_class=HTMLResponse)
def overview_page(request: Request, window: Window = "30") -> Response:
    projections = _projections(request)

    def build() -> dict[str, Any]:
        return {
            "clocks": overview.clocks(projections),
            "refresh": request.app.state.settings.ui_refresh_seconds,
            **_compliance(request, window),
        }

    return page(request, "overview.html", build)


@pages.get("/ui/fragments/clocks", response_class=HTMLResponse)
def clocks_fragment(request: Request) -> Response:
    """The overview's clock tables alone: what its script fetches every few seconds."""
    projections = _projections(request)
    return page(request, "_clocks.html", lambda: {"clocks": overview.clocks(projections)})


@pages.get("/ui/fragments/compliance", response_class=HTMLResponse)
def compliance_fragment(request: Request, window: Window = "30") -> Response:
    """The overview's compliance figures alone, for the script to swap in once computed."""
    return page(request, "_compliance.html", lambda: _compliance(request, window))


@pages.get("/ui/go")
def go(
    kind: Annotated[str, Query(pattern="^(ticket|contract|service)$")],
    id: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response:
    """The look-up forms' target: on to the page of that ticket, contract or service."""
    return RedirectResponse(f"/ui/{kind}s/{quote(id.strip(), safe='')}", status_code=303)


@pages.get("/ui/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(
    request: Request,
    ticket_id: TicketId,
    service: Service,
    as_of: Picked = None,
    as_known_at: Picked = None,
) -> Response:
    def build() -> dict[str, Any]:
        at, known = parse_instant(as_of, "as_of"), parse_instant(as_known_at, "as_known_at")
        state = service.ticket(ticket_id, at, known, with_segments=True)
        events = [r.event for r in service.history(ticket_id, known)]
        timeline = ticket_timeline(state, [e for e in events if isinstance(e, TicketEvent)])
        return {
            "timeline": timeline,
            "as_of": picker_value(at),
            "as_known_at": picker_value(known),
        }

    return page(request, "ticket.html", build)


@pages.get("/ui/contracts/{contract_id}", response_class=HTMLResponse)
def contract_page(
    request: Request,
    contract_id: CatalogId,
    service: Service,
    as_of: Picked = None,
    as_known_at: Picked = None,
) -> Response:
    contracts = service.contracts

    def build() -> dict[str, Any]:
        at, known = parse_instant(as_of, "as_of"), parse_instant(as_known_at, "as_known_at")
        view = contracts.read(contract_id, at, known)
        events = [r.event for r in contracts.history(contract_id, known)]
        found = [e for e in events if isinstance(e, ContractEvent)]
        return {
            "view": view,
            "charts": charts.burn_downs(contracts, view, found, known),
            "as_of": picker_value(at),
            "as_known_at": picker_value(known),
        }

    return page(request, "contract.html", build)


@pages.get("/ui/services/{service_id}", response_class=HTMLResponse)
def service_page(
    request: Request,
    service_id: TicketId,
    uptime: Uptime,
    first: Annotated[Month, Query(alias="from")] = None,
    last: Annotated[Month, Query(alias="to")] = None,
) -> Response:
    def build() -> dict[str, Any]:
        when = uptime.instants(None, None)
        start, end = default_months(when.at, first, last)
        found = uptime.services.uptime(service_id, month_range(start, end), None, when)
        chart = charts.uptime_chart(list(found.months), found.terms)
        return {"found": found, "chart": chart, "first": start, "last": end}

    return page(request, "service.html", build)


router.include_router(pages)
