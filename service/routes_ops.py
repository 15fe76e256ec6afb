"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from service.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.schemas import Health

router = APIRouter(tags=["operations"], route_class=AuthFirstRoute)


@router.get("/healthz", operation_id="healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


def _database_check(runtime: Any) -> str:
    try:
        runtime.store.ping()
    except Exception as error:  # readiness reports any failure rather than raising
        return f"unreachable: {type(error).__name__}"
    return "ok"


def _projection_check(runtime: Any) -> tuple[bool, dict[str, Any] | str]:
    """Ready unless the projection failed, or this process should run it and does not."""
    try:
        status: dict[str, Any] = runtime.projections.status()
    except Exception as error:  # the status query needs the database too
        return False, f"unavailable: {type(error).__name__}"
    in_process = runtime.settings.projections_enabled
    healthy = status.get("last_error") is None and (status.get("running") or not in_process)
    return bool(healthy), status


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Not ready"}},
)
def readyz(request: Request) -> Response:
    runtime = getattr(request.app.state, "runtime", None)
    checks: dict[str, Any] = {}
    ready = runtime is not None
    if runtime is not None:
        checks["database"] = _database_check(runtime)
        ready = checks["database"] == "ok"
        if runtime.projections is not None:
            projected, checks["projections"] = _projection_check(runtime)
            ready = ready and projected
    body = Health(status="ready" if ready else "not ready", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(require_scope(Scope.METRICS_READ))],
    responses=AUTH_RESPONSES,
)
def metrics(request: Request) -> PlainTextResponse:
    lines: list[str] = []
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        writer = runtime.writer
        lines += [
            "# HELP slaclock_writer_groups_total Transactions committed by the writer.",
            "# TYPE slaclock_writer_groups_total counter",
            f"slaclock_writer_groups_total {writer.groups_committed}",
            "# HELP slaclock_writer_events_total Events committed by the writer.",
            "# TYPE slaclock_writer_events_total counter",
            f"slaclock_writer_events_total {writer.events_committed}",
            "# HELP slaclock_writer_overlapped_groups_total Groups decided while the group"
            " before them was being inserted.",
            "# TYPE slaclock_writer_overlapped_groups_total counter",
            f"slaclock_writer_overlapped_groups_total {writer.groups_overlapped}",
        ]
    projections = getattr(request.app.state, "projection_service", None)
    if projections is not None:
        lines += projections.metrics_lines()
    uptime = getattr(request.app.state, "uptime", None)
    if uptime is not None:
        lines += uptime.metrics_lines()
    http = getattr(request.app.state, "http_metrics", None)
    text = "\n".join(lines) + "\n" + (http.render() if http is not None else "")
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")
