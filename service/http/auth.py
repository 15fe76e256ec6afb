"""Bearer-token authentication and scope checks for the HTTP API.

Use in a route of a router made with ``APIRouter(route_class=AuthFirstRoute)``,
which checks the token before the body is read::

    @router.get("/v1/tickets", responses=AUTH_RESPONSES)
    async def tickets(
        _: Annotated[Granted, Depends(require_scope(Scope.TICKETS_READ))],
    ) -> ...

The dependency finds the TokenStore at ``request.app.state.tokens`` and the
Settings at ``request.app.state.settings``. A cached answer costs no I/O; a
cache miss goes to the database on the thread pool, never on the event loop.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from service.http.problems import PROBLEM_JSON, ProblemError
from service.settings import Settings
from service.storage.store_circuit import RETRY_AFTER_SECONDS
from service.storage.tokens import ALL_SCOPES, Scope, TokenStore

__all__ = [
    "AUTH_RESPONSES",
    "AuthFirstRoute",
    "Granted",
    "Scope",
    "authenticate",
    "require_scope",
]

Granted = frozenset[str]
"""The scopes the caller's token grants (``admin`` already expanded)."""

# Declares the scheme in OpenAPI; errors are ours (auto_error=False), as problem details.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    bearerFormat="slk_<id>_<secret>",
    description="A token from `slaclock tokens create`, or SLA_ADMIN_TOKEN.",
)

# The Problem schema is published under components by problems.add_problem_schema.
_PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "Missing, malformed, unknown or revoked bearer token",
        "content": _PROBLEM,
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    403: {"description": "The token lacks the scope this endpoint needs", "content": _PROBLEM},
    503: {"description": "The token store (the database) cannot be reached", "content": _PROBLEM},
}


def _unauthorized(detail: str, challenge: str = "Bearer") -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def _unavailable() -> ProblemError:
    return ProblemError(
        503,
        "Service unavailable",
        "the token store cannot be reached",
        slug="unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _is_admin_token(token: str, settings: Settings) -> bool:
    admin = settings.admin_token
    if not admin:
        return False
    # Bytes, because compare_digest refuses non-ASCII str and headers may carry any latin-1.
    return hmac.compare_digest(token.encode(), admin.encode())


def cached_scopes(state: Any, token: str) -> Granted | None:
    """What ``token`` grants when that is known without I/O, else None (ask ``authenticate``).

    ``state`` is the app's state: the admin token, or a fresh entry of the token cache.
    """
    if _is_admin_token(token, state.settings):
        return ALL_SCOPES
    store: TokenStore | None = getattr(state, "tokens", None)
    hit = store.cached(token) if store is not None else None
    return hit.scopes if hit is not None else None


async def authenticate(request: Request, token: str) -> Granted:
    """The scopes ``token`` grants; ProblemError 401 when it grants nothing."""
    granted = cached_scopes(request.app.state, token)
    if granted is not None:
        return granted
    store: TokenStore | None = getattr(request.app.state, "tokens", None)
    circuit = getattr(getattr(request.app.state, "runtime", None), "circuit", None)
    if store is None or (circuit is not None and circuit.is_open):
        raise _unavailable()  # not started, stopped, or the database is down
    try:
        scopes = await run_in_threadpool(store.authenticate, token)
    except SQLAlchemyError as exc:
        raise _unavailable() from exc
    if scopes is None:
        raise _unauthorized("unknown or revoked token", 'Bearer error="invalid_token"')
    return scopes


_GRANTED = "slaclock.granted"  # the request's scopes, once checked, in its ASGI scope


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized("a bearer token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must read 'Bearer <token>'")
    return token.strip()


async def check_scope(request: Request, scope: Scope) -> Granted:
    """The caller's scopes if they include ``scope``; else ProblemError 401 or 403."""
    granted: Granted | None = request.scope.get(_GRANTED)
    if granted is None:
        granted = await authenticate(request, _bearer_token(request))
        request.scope[_GRANTED] = granted
    if scope not in granted:
        raise ProblemError(
            403,
            "Forbidden",
            f"this token lacks the scope {scope.value!r}",
            headers={
                "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope.value}"'
            },
        )
    return granted


def require_scope(scope: Scope) -> Callable[..., Awaitable[Granted]]:
    """A dependency admitting only requests whose bearer token grants ``scope``."""

    async def dependency(
        request: Request,
        # Declares the scheme in OpenAPI; check_scope reads the header itself.
        _: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
    ) -> Granted:
        return await check_scope(request, scope)

    dependency.__name__ = f"require_{scope.name.lower()}"
    dependency.required_scope = scope  # type: ignore[attr-defined]
    return dependency


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class AuthFirstRoute(APIRoute):
    """A route that checks its bearer token before FastAPI reads and parses the body.

    FastAPI parses the body before it solves dependencies, so without this an
    unauthenticated caller learns how its body was judged (400, 422) instead of
    getting 401. The scopes come from the route's ``require_scope`` dependencies,
    which still run (and find the check already made).
    """

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        scopes = [
            required
            for sub in self.dependant.dependencies
            if (required := getattr(sub.call, "required_scope", None)) is not None
        ]
        if not scopes:
            return handler

        async def authenticated_first(request: Request) -> Response:
            for scope in scopes:
                await check_scope(request, scope)
            return await handler(request)

        return authenticated_first
