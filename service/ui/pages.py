"""What the page routes share: the templates, parameter parsing, and error pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from domain.errors import Conflict, DomainError, NotFound, ValidationFailed

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# The pages load nothing but their own static files; no inline script runs.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_STATUS = {NotFound: 404, ValidationFailed: 422, Conflict: 409}


def instant(at: datetime | None) -> str:
    """An instant as the pages show it: UTC, to the second."""
    if at is None:
        return "—"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def percent(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


TEMPLATES.env.filters.update(instant=instant, iso=iso, percent=percent)


def parse_instant(value: str | None, name: str) -> datetime | None:
    """A picker's value: RFC 3339, or a form's local date-time read as UTC; blank is none."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise ValidationFailed.single(
            name, "must be a date and time, e.g. 2026-03-16T16:30"
        ) from error
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def picker_value(at: datetime | None) -> str:
    """The value a datetime-local input shows for ``at`` (in UTC)."""
    return "" if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def render(
    request: Request, template: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(request, template, dict(context), status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def page(request: Request, template: str, build: Callable[[], Mapping[str, Any]]) -> HTMLResponse:
    """Render ``template`` with what ``build`` reads; a domain error becomes an error page."""
    try:
        context = build()
    except DomainError as error:
        status = next((s for kind, s in _STATUS.items() if isinstance(error, kind)), 400)
        return render(request, "error.html", {"status": status, "detail": str(error)}, status)
    return render(request, template, context)
