"""The composition root: ``create_app(settings)``. Nothing is opened until startup."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from service.http import (
    problems,
    routes_catalog,
    routes_contracts,
    routes_events,
    routes_ops,
    routes_tickets,
    routes_uptime,
)
from service.http.edge import Edge
from service.http.fastlane import IngestFastLane
from service.http.http_metrics import HttpMetrics
from service.http.readlane import ReadLane
from service.limits import BodyLimit
from service.logging_setup import configure_logging, database_for_logs, is_configured
from service.runtime import Runtime, build_runtime
from service.settings import Settings
from service.storage.deadline import OutageGuard
from service.webhooks import routes as webhook_routes
from service.webhooks.api import WebhookApi

VERSION = "0.1.0"
log = logging.getLogger("slaclock")


class SlaclockApp(FastAPI):
    """FastAPI with the ingest fast lane and the read lane in front of its whole middleware
    stack.

    Each lane answers only requests it fully vouches for and catches every error of
    its own, so it needs none of the stack's layers; every other request passes
    straight through to them.
    """

    fast_lane_max_bytes: int | None = None
    read_lane: bool = False
    body_timeout_seconds: float = 30.0
    http_metrics: HttpMetrics | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self.fast_lane_max_bytes is not None:
            stack = IngestFastLane(stack, max_bytes=self.fast_lane_max_bytes)
        if self.read_lane:
            stack = ReadLane(stack)
        # Inside the edge (request ids, headers, HTTP metrics), outside everything else:
        # no request, fast lane included, waits on a database that is down.
        guarded = OutageGuard(stack)
        return Edge(guarded, body_timeout=self.body_timeout_seconds, metrics=self.http_metrics)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = SlaclockApp(
        title="slaclock",
        version=VERSION,
        summary="Event-sourced SLA clocks in business hours, with audit replay.",
        lifespan=_lifespan(settings),
        # FastAPI's OpenTelemetry hooks looked up the global providers (environment
        # reads included) on every request, fast lanes too: about 2% of a busy event
        # loop. slaclock's own telemetry is /metrics and its logs.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.fast_lane_max_bytes = settings.max_body_bytes if settings.ingest_fast_lane else None
    app.read_lane = settings.read_fast_lane
    app.body_timeout_seconds = settings.body_timeout_seconds
    app.http_metrics = app.state.http_metrics = HttpMetrics(VERSION)
    app.state.service = None
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _include_routes(app)
    problems.add_problem_schema(app)
    return app


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The runtime is built as the server starts, in a thread, and closed as it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not is_configured():  # `slaclock serve` configured it already
            configure_logging(settings)
        log.info(
            "slaclock %s starting; database %s", VERSION, database_for_logs(settings.database_url)
        )
        runtime: Runtime = await run_in_threadpool(build_runtime, settings)
        app.state.runtime = runtime
        app.state.service = runtime.service
        app.state.tokens = runtime.tokens
        app.state.projection_service = runtime.projections
        app.state.uptime = runtime.uptime
        app.state.webhooks = WebhookApi(runtime.engine, settings.host, settings.port)
        try:
            yield
        finally:
            app.state.service = None
            app.state.uptime = None
            app.state.webhooks = None
            if runtime.async_reads is not None:
                await runtime.async_reads.aclose()
            await run_in_threadpool(runtime.close)

    return lifespan


def _include_routes(app: FastAPI) -> None:
    for module in (
        routes_events,
        routes_catalog,
        routes_tickets,
        routes_contracts,
        routes_uptime,
        routes_ops,
        webhook_routes,
    ):
        app.include_router(module.router)
    _include_projection_routes(app)
    _include_dashboard(app)


def _include_projection_routes(app: FastAPI) -> None:
    from service.http import routes_projections

    app.include_router(routes_projections.router)


def _include_dashboard(app: FastAPI) -> None:
    from service import ui

    ui.install(app)
