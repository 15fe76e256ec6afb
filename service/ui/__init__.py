"""The dashboard at ``/ui``: server-rendered pages over the read models (docs/dashboard.md).

``install(app)`` adds the pages, their static files and the sign-in redirect.
None of it appears in the OpenAPI document: it is not part of the JSON API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.settings import Settings
from service.ui.freshness import Recent
from service.ui.routes import router
from service.ui.session import SignInRequired, to_sign_in

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    app.state.ui_compliance = Recent[object](settings.ui_compliance_max_age_seconds)
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(SignInRequired, to_sign_in)
