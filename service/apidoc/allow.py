"""The ``Allow`` header of a 405: every method the path answers, not one route's.

Starlette stops at the first route whose path matches and lists only that
route's methods; a path served by two routes (GET and PUT of a calendar) would
advertise half of what it supports. The methods come from the published
document, so ``Allow`` and the document cannot disagree.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

_METHODS = ("get", "head", "put", "post", "delete", "patch", "options")
Table = list[tuple[re.Pattern[str], frozenset[str]]]


def method_table(document: dict[str, Any]) -> Table:
    """Each documented path as a regular expression, with the methods it answers."""
    table: Table = []
    for template, operations in document.get("paths", {}).items():
        methods = {m.upper() for m in operations if m in _METHODS}
        if "GET" in methods:
            methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        table.append((re.compile(pattern), frozenset(methods)))
    return table


def allowed_methods(request: Request) -> str:
    """``Allow`` for a request whose method its path does not answer."""
    app = request.app
    table: Table | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = app.state.allow_table = method_table(app.openapi())
    path = request.url.path
    methods = set().union(*(m for pattern, m in table if pattern.fullmatch(path)))
    return ", ".join(sorted(methods))
