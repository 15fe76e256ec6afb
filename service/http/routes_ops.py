"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from service.http.auth import AUTH_RESPONSES, AuthFirstRoute, Scope, require_scope
from service.http.schemas import Health
from service.sla_metrics.collector import render as sla_render
from service.storage.store_circuit import RETRY_AFTER_SECONDS

if TYPE_CHECKING:
    from service.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"], route_class=AuthFirstRoute)


@router.get("/healthz", operation_id="healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


def _database_check(runtime: Any) -> str:
    try:
        runtime.probe()
    except Exception as error:  # readiness reports any failure rather than raising
        # The driver's words stay in the log: this answer needs no token.
        log.warning("readiness: database check failed: %s: %s", type(error).__name__, error)
        return "unavailable"
    return "ok"


def _projection_check(runtime: Any) -> tuple[bool, dict[str, Any] | str]:
    """Ready unless the projection failed, or this process should run it and does not."""
    try:
        status: dict[str, Any] = runtime.projections.status()
    except Exception as error:  # the status query needs the database too
        log.warning("readiness: projection status failed: %s: %s", type(error).__name__, error)
        return False, "unavailable"
    in_process = runtime.settings.projections_enabled
    healthy = status.get("last_error") is None and (status.get("running") or not in_process)
    if status.get("last_error") is not None:
        # Only the kind of error (its full text is in the log): e.g. "OperationalError".
        status["last_error"] = str(status["last_error"]).split("(", 1)[0]
    return bool(healthy), status


def _checks(runtime: Any) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {"database": _database_check(runtime)}
    ready = checks["database"] == "ok"
    if runtime.projections is not None:
        projected, checks["projections"] = _projection_check(runtime)
        ready = ready and projected
    return ready, checks


async def _checks_unless_outage(runtime: Any) -> tuple[bool, dict[str, Any]]:
    """The checks, or "unavailable" as soon as the outage circuit is (or becomes) open."""
    circuit = runtime.circuit
    down: tuple[bool, dict[str, Any]] = (False, {"database": "unavailable"})
    if circuit is None:
        return await to_thread.run_sync(_checks, runtime)
    if circuit.is_open:
        return down
    opened = circuit.opened()
    checks = asyncio.ensure_future(to_thread.run_sync(_checks, runtime, abandon_on_cancel=True))
    try:
        await asyncio.wait({checks, opened}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        circuit.forget(opened)
    if not checks.done():
        checks.cancel()  # its thread may be stuck in the driver: left to finish alone
        return down
    return checks.result()


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Not ready"}},
)
async def readyz(request: Request) -> Response:
    runtime = getattr(request.app.state, "runtime", None)
    ready, checks = (False, {}) if runtime is None else await _checks_unless_outage(runtime)
    body = Health(status="ready" if ready else "not ready", checks=checks)
    headers = {} if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse(
        body.model_dump(mode="json"), status_code=200 if ready else 503, headers=headers
    )


_METRICS_TYPE = "text/plain; version=0.0.4"


def _circuit_lines(circuit: Any) -> list[str]:
    if circuit is None:
        return []
    return [
        "# HELP slaclock_store_unavailable 1 while the database is unavailable (answering 503).",
        "# TYPE slaclock_store_unavailable gauge",
        f"slaclock_store_unavailable {int(circuit.is_open)}",
        "# HELP slaclock_store_outages_total Times the database became unavailable.",
        "# TYPE slaclock_store_outages_total counter",
        f"slaclock_store_outages_total {circuit.openings}",
    ]


def _held_writes(runtime: Runtime) -> int:
    return runtime.lag_gate.waits if runtime.lag_gate is not None else 0


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
            "# HELP slaclock_writer_held_writes_total Writes that waited for the projections"
            " to come within SLA_INGEST_MAX_LAG_SECONDS.",
            "# TYPE slaclock_writer_held_writes_total counter",
            f"slaclock_writer_held_writes_total {_held_writes(runtime)}",
        ]
        lines += _circuit_lines(runtime.circuit)
    circuit = getattr(runtime, "circuit", None)
    if circuit is not None and circuit.is_open:
        # The figures below are read from the database: left out while it is down.
        return PlainTextResponse("\n".join(lines) + "\n", media_type=_METRICS_TYPE)
    projections = getattr(request.app.state, "projection_service", None)
    if projections is not None:
        lines += projections.metrics_lines()
        lines.append(sla_render(projections.sla_figures).rstrip("\n"))
    uptime = getattr(request.app.state, "uptime", None)
    if uptime is not None:
        lines += uptime.metrics_lines()
    http = getattr(request.app.state, "http_metrics", None)
    text = "\n".join(lines) + "\n" + (http.render() if http is not None else "")
    return PlainTextResponse(text, media_type=_METRICS_TYPE)
