"""The read lane: well-formed, authorised listings without FastAPI's per-request work.

A dashboard that reads its own write (``min_position``) makes one listing read per
write. Through FastAPI's routing, dependencies and threadpool a one-ticket listing
cost about 2 ms of the server's time, against a quarter of that for the read
itself, so the server answered a few hundred such reads a second at most.

Like the ingest fast lane, this ASGI layer serves only what it can vouch for: a
token already known to grant ``tickets:read`` and a query string of the declared
parameters of ``GET /v1/tickets`` or ``GET /v1/breaches``
(each given once, with a value the route surely accepts). Everything else
goes, untouched, to the declared route (the OpenAPI contract). The lane waits for
``min_position`` with the route's own function, reads with the same reader,
renders through the route's response model and answers errors with the app's
problem renderer, so its answers are the route's: tests/api/test_read_lane.py
compares them request by request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from projections.reads.queries import BreachFilters, Page, ProjectionReader, TicketFilters
from service.http.auth import cached_scopes
from service.http.edge import ROUTE_KEY
from service.http.problems import problem_answer
from service.http.routes_projections import (
    METRICS,
    STATUSES,
    BreachPageOut,
    TicketPageOut,
    projections_at,
)
from service.storage.tokens import Scope as TokenScope

_NAMES = ("plan", "customer", "priority")
_PAGING = ("limit", "cursor", "min_position")
_MAX_NAME, _MAX_CURSOR, _MAX_LIMIT, _DEFAULT_LIMIT = 128, 1024, 1000, 100
# Pages up to this size are read on the event loop where that is safe (see
# ProjectionReader.reads_inline): at 16 clients a thread hop per read, with the GIL
# handed back and forth, held the lane to 550 one-ticket reads a second, against
# 1,430 on the loop (wrk -c16 on GET /v1/tickets?limit=1).
INLINE_LIMIT = 100
_JSON = (b"content-type", b"application/json")

Filters = TicketFilters | BreachFilters
_STATES: dict[str, Literal["breached", "at_risk"]] = {"breached": "breached", "at_risk": "at_risk"}


@dataclass(frozen=True)
class Listing:
    """One listing request as the lane will serve it."""

    read: Callable[[ProjectionReader, Any, int, str | None], Page]
    read_async: Callable[[ProjectionReader, Any, int, str | None], Awaitable[Page]]
    render: TypeAdapter[Any]
    filters: Filters
    limit: int
    cursor: str | None
    min_position: int | None


class ReadLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        listing = _listing(scope)
        if listing is None or not _may_read(scope):
            await self.app(scope, receive, send)
            return
        self.served += 1
        scope[ROUTE_KEY] = scope["path"]  # what the declared route would be, for metrics
        try:
            body = await _page(scope["app"].state, listing)
        except Exception as error:  # every error is answered as the app's handlers would
            await problem_answer(error)(scope, receive, send)
            return
        headers = [_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _page(state: Any, listing: Listing) -> bytes:
    service = await projections_at(state, listing.min_position)
    reader, args = service.reader, (listing.filters, listing.limit, listing.cursor)
    if listing.limit <= INLINE_LIMIT and reader.reads_inline:
        page = listing.read(reader, *args)  # a fraction of a millisecond: less than a thread hop
    elif reader.awaits_reads:
        page = await listing.read_async(reader, *args)
    else:
        page = await run_in_threadpool(listing.read, reader, *args)
    content = {
        "items": page.items,
        "next_cursor": page.next_cursor,
        "evaluated_at": page.evaluated_at,
    }
    return listing.render.dump_json(listing.render.validate_python(content))


def _may_read(scope: Scope) -> bool:
    """A bearer token already known (no I/O) to grant ``tickets:read``."""
    state = scope["app"].state
    if getattr(state, "projection_service", None) is None:
        return False
    authorization = dict(scope["headers"]).get(b"authorization", b"")
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return False
    granted = cached_scopes(state, token.strip())
    return granted is not None and bool(TokenScope.TICKETS_READ in granted)


def _listing(scope: Scope) -> Listing | None:
    """The request as a listing the lane serves, or None to let the declared route judge it."""
    kind: str = scope["type"]
    found = _LISTINGS.get(scope["path"]) if kind == "http" and scope["method"] == "GET" else None
    given = _query(scope) if found is not None else None
    if found is None or given is None:
        return None
    paging = _paging(given) if given.keys() <= found.parameters else None
    filters = found.filters(given) if paging is not None else None
    if paging is None or filters is None:
        return None
    return Listing(found.read, found.read_async, found.render, filters, *paging)


def _query(scope: Scope) -> dict[str, str] | None:
    """The query's parameters, each given once and, if a name, of a length the route takes."""
    try:
        pairs = parse_qsl(scope["query_string"].decode("ascii"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    given = dict(pairs)
    if len(given) != len(pairs):
        return None
    if any(not 1 <= len(given[name]) <= _MAX_NAME for name in _NAMES if name in given):
        return None
    return given


def _paging(given: Mapping[str, str]) -> tuple[int, str | None, int | None] | None:
    cursor = given.get("cursor")
    if cursor is not None and not 0 < len(cursor) <= _MAX_CURSOR:
        return None
    limit = _whole(given.get("limit", str(_DEFAULT_LIMIT)))
    min_position = _whole(given.get("min_position", "0"))
    if limit is None or not 1 <= limit <= _MAX_LIMIT or min_position is None:
        return None
    return limit, cursor, (min_position if "min_position" in given else None)


def _ticket_filters(given: Mapping[str, str]) -> TicketFilters | None:
    status = given.get("status")
    if status is not None and status not in STATUSES:
        return None
    return TicketFilters(given.get("plan"), given.get("customer"), given.get("priority"), status)


def _breach_filters(given: Mapping[str, str]) -> BreachFilters | None:
    state, metric = _STATES.get(given.get("state", "breached")), given.get("metric")
    open_only = {"true": True, "false": False}.get(given.get("open_only", "false"))
    if state is None or open_only is None:
        return None
    if metric is not None and metric not in METRICS:
        return None
    names = (given.get("plan"), given.get("priority"), given.get("customer"))
    return BreachFilters(state, metric, *names, open_only)


def _whole(value: str) -> int | None:
    """A plain decimal integer (what the route's int parameters surely accept), else None."""
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        return None
    return int(value)


@dataclass(frozen=True)
class _Route:
    """A listing the lane serves: its declared parameters, how they become its filters,
    the reader's method and the response model."""

    parameters: set[str]
    filters: Callable[[Mapping[str, str]], Filters | None]
    read: Callable[[ProjectionReader, Any, int, str | None], Page]
    read_async: Callable[[ProjectionReader, Any, int, str | None], Awaitable[Page]]
    render: TypeAdapter[Any]


_LISTINGS = {
    "/v1/tickets": _Route(
        {*_NAMES, "status", *_PAGING},
        _ticket_filters,
        ProjectionReader.tickets,
        ProjectionReader.tickets_async,
        TypeAdapter(TicketPageOut),
    ),
    "/v1/breaches": _Route(
        {*_NAMES, "state", "metric", "open_only", *_PAGING},
        _breach_filters,
        ProjectionReader.breaches,
        ProjectionReader.breaches_async,
        TypeAdapter(BreachPageOut),
    ),
}
