"""The read lane: well-formed, authorised ``GET /v1/tickets`` without FastAPI's per-request work.

A dashboard that reads its own write (``min_position``) makes one listing read per
write. Through FastAPI's routing, dependencies and threadpool a one-ticket listing
cost about 2 ms of the server's time, against a quarter of that for the read
itself, so the server answered a few hundred such reads a second at most.

Like the ingest fast lane, this ASGI layer serves only what it can vouch for: a
token already known to grant ``tickets:read`` and a query string of the declared
parameters, each given once with a value the route would accept. Everything else
goes, untouched, to the declared route (the OpenAPI contract). The lane waits for
``min_position`` with the route's own function, reads with the same reader,
renders through the route's response model and answers errors with the app's
problem renderer, so its answers are the route's: tests/api/test_read_lane.py
compares them request by request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from projections.queries import TicketFilters
from service.http.auth import cached_scopes
from service.http.edge import ROUTE_KEY
from service.http.problems import problem_answer
from service.http.routes_projections import STATUSES, TicketPageOut, projections_at
from service.storage.tokens import Scope as TokenScope

_TICKETS = "/v1/tickets"
_NAMES = ("plan", "customer", "priority")
_KNOWN = {*_NAMES, "status", "limit", "cursor", "min_position"}
_MAX_NAME, _MAX_CURSOR, _MAX_LIMIT, _DEFAULT_LIMIT = 128, 1024, 1000, 100
# Pages up to this size are read on the event loop where that is safe (see
# ProjectionReader.reads_inline): at 16 clients a thread hop per read, with the GIL
# handed back and forth, held the lane to 550 one-ticket reads a second, against
# 1,430 on the loop (wrk -c16 on GET /v1/tickets?limit=1).
INLINE_LIMIT = 100
_PAGE = TypeAdapter(TicketPageOut)
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True)
class TicketListing:
    filters: TicketFilters
    limit: int
    cursor: str | None
    min_position: int | None


class ReadLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        listing = _listing(scope) if _is_ticket_listing(scope) else None
        if listing is None or not _may_read(scope):
            await self.app(scope, receive, send)
            return
        self.served += 1
        scope[ROUTE_KEY] = _TICKETS  # what the declared route would be, for metrics
        try:
            body = await _ticket_page(scope["app"].state, listing)
        except Exception as error:  # every error is answered as the app's handlers would
            await problem_answer(error)(scope, receive, send)
            return
        headers = [_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _ticket_page(state: Any, listing: TicketListing) -> bytes:
    service = await projections_at(state, listing.min_position)
    reader, args = service.reader, (listing.filters, listing.limit, listing.cursor)
    if listing.limit <= INLINE_LIMIT and reader.reads_inline:
        page = reader.tickets(*args)  # a fraction of a millisecond: cheaper than a thread hop
    else:
        page = await run_in_threadpool(reader.tickets, *args)
    content = {
        "items": page.items,
        "next_cursor": page.next_cursor,
        "evaluated_at": page.evaluated_at,
    }
    return _PAGE.dump_json(_PAGE.validate_python(content))


def _is_ticket_listing(scope: Scope) -> bool:
    kind: str = scope["type"]
    return kind == "http" and scope["method"] == "GET" and scope["path"] == _TICKETS


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


def _listing(scope: Scope) -> TicketListing | None:
    """The query's parameters, or None to let the declared route judge them."""
    try:
        pairs = parse_qsl(scope["query_string"].decode("ascii"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    given = dict(pairs)
    if len(given) != len(pairs) or not given.keys() <= _KNOWN:
        return None
    if any(not 1 <= len(given[name]) <= _MAX_NAME for name in _NAMES if name in given):
        return None
    status = given.get("status")
    cursor = given.get("cursor")
    if (status is not None and status not in STATUSES) or (
        cursor is not None and not 0 < len(cursor) <= _MAX_CURSOR
    ):
        return None
    limit = _whole(given.get("limit", str(_DEFAULT_LIMIT)))
    min_position = _whole(given.get("min_position", "0"))
    if limit is None or not 1 <= limit <= _MAX_LIMIT or min_position is None:
        return None
    filters = TicketFilters(given.get("plan"), given.get("customer"), given.get("priority"), status)
    wait_for = min_position if "min_position" in given else None
    return TicketListing(filters, limit, cursor, wait_for)


def _whole(value: str) -> int | None:
    """A plain decimal integer (what the route's int parameters surely accept), else None."""
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        return None
    return int(value)
