"""The composition root: ``create_app(settings)``. Nothing is opened until startup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from service import (
    problems,
    routes_catalog,
    routes_contracts,
    routes_events,
    routes_ops,
    routes_tickets,
    routes_uptime,
)
from service.deadline import OutageGuard
from service.fastlane import IngestFastLane
from service.limits import BodyLimit
from service.runtime import Runtime, build_runtime
from service.settings import Settings

VERSION = "0.1.0"


class SlaclockApp(FastAPI):
    """FastAPI with the ingest fast lane in front of its whole middleware stack.

    The lane answers only requests it fully vouches for and catches every error of
    its own, so it needs none of the stack's layers; every other request passes
    straight through to them.
    """

    fast_lane_max_bytes: int | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self.fast_lane_max_bytes is not None:
            stack = IngestFastLane(stack, max_bytes=self.fast_lane_max_bytes)
        # Outermost: no request, fast lane included, waits on a database that is down.
        return OutageGuard(stack)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime: Runtime = await run_in_threadpool(build_runtime, settings)
        app.state.runtime = runtime
        app.state.service = runtime.service
        app.state.tokens = runtime.tokens
        app.state.projection_service = runtime.projections
        app.state.uptime = runtime.uptime
        try:
            yield
        finally:
            app.state.service = None
            app.state.uptime = None
            await run_in_threadpool(runtime.close)

    app = SlaclockApp(
        title="slaclock",
        version=VERSION,
        summary="Event-sourced SLA clocks in business hours, with audit replay.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.fast_lane_max_bytes = settings.max_body_bytes if settings.ingest_fast_lane else None
    app.state.service = None
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    for module in (
        routes_events,
        routes_catalog,
        routes_tickets,
        routes_contracts,
        routes_uptime,
        routes_ops,
    ):
        app.include_router(module.router)
    _include_projection_routes(app)
    problems.add_problem_schema(app)
    return app


def _include_projection_routes(app: FastAPI) -> None:
    from service import routes_projections

    app.include_router(routes_projections.router)
