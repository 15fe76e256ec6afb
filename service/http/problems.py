"""RFC 9457 problem details: the one place where errors become HTTP answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from service.apidoc.allow import allowed_methods
from service.apidoc.responses import complete

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://slaclock.dev/problems/"


class ProblemError(Exception):
    """An error raised by the service layer that already knows its HTTP status."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug or title.lower().replace(" ", "-")
        self.headers = headers or {}
        self.errors = list(errors)


def problem_body(
    status: int, title: str, detail: str, slug: str, errors: Sequence[FieldError] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return body


def problem_response(error: ProblemError) -> JSONResponse:
    body = problem_body(error.status, error.title, error.detail, error.slug, error.errors)
    return JSONResponse(
        body, status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers
    )


def from_domain(error: DomainError) -> ProblemError:
    if isinstance(error, ValidationFailed):
        return ProblemError(422, "Validation failed", error.detail, errors=error.errors)
    if isinstance(error, NotFound):
        return ProblemError(404, "Not found", error.detail)
    if isinstance(error, Conflict):
        return ProblemError(409, "Conflict", error.detail)
    return ProblemError(400, "Bad request", error.detail)


def problem_for(error: BaseException) -> ProblemError:
    """The problem answer for any error a request can meet (batch items use it too)."""
    from pydantic import ValidationError

    from service.storage.store_circuit import RETRY_AFTER_SECONDS, StoreUnavailable, is_store_outage

    if isinstance(error, ProblemError):
        return error
    if isinstance(error, DomainError):
        return from_domain(error)
    if isinstance(error, ValidationError):
        errors = [FieldError(_field_of(e["loc"]), e["msg"]) for e in error.errors()]
        return ProblemError(422, "Validation failed", "the request is malformed", errors=errors)
    if isinstance(error, StoreUnavailable):
        return ProblemError(
            503,
            "Service unavailable",
            str(error),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if is_store_outage(error):
        # The driver's text stays in the log: it can name hosts, users and paths.
        log.warning("database error answered 503: %s: %s", type(error).__name__, error)
        return ProblemError(
            503,
            "Service unavailable",
            "the database is unavailable; retry later",
            slug="unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return ProblemError(500, "Internal error", "an unexpected error occurred", slug="internal")


def problem_answer(error: BaseException) -> JSONResponse:
    """The answer to any error a request meets; an unexpected one is logged first."""
    problem = problem_for(error)
    if problem.slug == "internal":
        log.error("unhandled error", exc_info=error)
    return problem_response(problem)


def _field_of(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    path = ""
    for part in parts:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path or "body"


def from_request_validation(exc: RequestValidationError) -> ProblemError:
    errors = [FieldError(_field_of(e.get("loc", ())), str(e.get("msg", ""))) for e in exc.errors()]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return ProblemError(
            400, "Malformed JSON", "the request body is not valid JSON", errors=errors
        )
    return ProblemError(422, "Validation failed", "the request is malformed", errors=errors)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem answer."""

    async def on_problem(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(exc)

    async def on_known(_: Request, exc: Exception) -> JSONResponse:
        return problem_answer(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(from_request_validation(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        titles = {
            404: "Not found",
            405: "Method not allowed",
            408: "Request timeout",
            413: "Payload too large",
        }
        title = titles.get(exc.status_code, "Error")
        detail = str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem_response(ProblemError(exc.status_code, title, detail, headers=headers))

    app.add_exception_handler(ProblemError, on_problem)
    from service.storage.store_circuit import DATABASE_ERRORS, StoreUnavailable

    app.add_exception_handler(DomainError, on_known)
    app.add_exception_handler(StoreUnavailable, on_known)
    # Named, not left to the catch-all: Starlette re-raises what its Exception handler
    # answered, and uvicorn then logs a traceback and drops the kept-alive connection.
    for family in DATABASE_ERRORS:
        app.add_exception_handler(family, on_known)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_known)


_DESCRIPTIONS = {
    400: "Malformed JSON",
    404: "Not found",
    409: "Conflict with what is recorded",
    413: "Request body too large",
    422: "Validation failed (each bad field named in `errors`)",
    503: "Not ready, or the store could not commit; retry later",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem answers a route can give."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        s: {"description": _DESCRIPTIONS[s], "content": {PROBLEM_JSON: {"schema": schema}}}
        for s in statuses
    }


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def add_problem_schema(app: FastAPI) -> None:
    """Publish the Problem schema that every documented error answer refers to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            complete(schema)
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
