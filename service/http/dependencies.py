"""FastAPI dependencies that hand route handlers the parts built by create_app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.application import SlaService
from service.http.problems import ProblemError
from service.settings import Settings


async def get_service(request: Request) -> SlaService:
    service = getattr(request.app.state, "service", None)
    if service is None:
        raise ProblemError(503, "Service unavailable", "the service is starting or stopping")
    assert isinstance(service, SlaService)
    return service


async def get_settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


Service = Annotated[SlaService, Depends(get_service)]
AppSettings = Annotated[Settings, Depends(get_settings)]
