"""The ``Allow`` header of a 405: every method the path answers, not one route's.

Starlette stops at the first route whose path matches and lists only that
route's methods; a path served by two routes (GET and PUT of a calendar) would
advertise half of what it supports.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Match, Route


def allowed_methods(request: Request) -> str:
    """``Allow`` for a request whose method its path does not answer."""
    scope = {**request.scope, "method": "\x00"}  # no route answers it: paths match PARTIAL
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                methods |= route.methods
    return ", ".join(sorted(methods))
