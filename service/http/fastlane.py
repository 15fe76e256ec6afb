"""The ingest fast lane: well-formed, authorised ingest without FastAPI's per-request work.

FastAPI's own per-request work (dependencies, body validation, response
handling, its middleware stack) was most of the cost of single-event ingest: on
this machine the declared route took 1.6k events/s and this lane, in front of
the whole stack, 4.8k (docs/architecture.md, "Write path").
This ASGI middleware serves ``POST /v1/tickets/{ticket_id}/events``,
``POST /v1/services/{service_id}/events`` and ``POST /v1/events/batch`` itself
when it can vouch for the whole request: a JSON body of known length, a token
already known to grant ``events:write``, and a body of the documented shape.

Everything else is replayed, untouched, into the app, whose declared route (the
OpenAPI contract) answers it. The lane calls the same application service,
parses and renders through service/event_bodies.py as the routes do, and renders
errors with the function the app's exception handlers use, so its answers are
the declared routes' answers; tests/api/test_fast_lane.py compares them request
by request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.application import EventInput, SlaService
from service.event_bodies import (
    batch_body,
    batch_items,
    json_bytes,
    receipt_body,
    service_receipt_body,
    well_formed,
    well_formed_service,
)
from service.http.auth import cached_scopes
from service.http.edge import ROUTE_KEY
from service.http.problems import problem_answer
from service.http.schemas import MAX_BATCH_ITEMS
from service.service_events import ServiceEventInput, ServiceEvents
from service.storage.tokens import Scope as TokenScope

_TICKET_EVENTS = ("/v1/tickets/", "/events")
_SERVICE_EVENTS = ("/v1/services/", "/events")
_BATCH = "/v1/events/batch"
_JSON_HEADERS = [(b"content-type", b"application/json")]

Answer = tuple[int, dict[str, Any]]
Handler = Callable[[SlaService, Any], Awaitable[Answer]]


class IngestFastLane:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _route(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        service = self._authorised_service(scope) if route is not None else None
        if route is None or service is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its body: nobody to answer
        parse, handle = route
        parsed = parse(body)
        if parsed is None:
            await self.app(scope, _replay(body, receive), send)
            return
        self.served += 1
        scope[ROUTE_KEY] = _TEMPLATES[handle]  # what the declared route would be, for metrics
        try:
            status, payload = await handle(service, parsed)
        except Exception as error:  # every error is answered as the app's handlers would
            await problem_answer(error)(scope, receive, send)
            return
        await _send_json(send, status, payload)

    def _authorised_service(self, scope: Scope) -> SlaService | None:
        """The service, when the request's headers and token let the lane take it."""
        state = scope["app"].state
        service = state.service
        if not isinstance(service, SlaService):
            return None
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        if not (length.isdigit() and int(length) <= self.max_bytes):
            return None
        if headers.get(b"content-type", b"").lower() != b"application/json":
            return None
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer":
            return None
        granted = cached_scopes(state, token.strip())
        if granted is None or TokenScope.EVENTS_WRITE not in granted:
            return None
        return service


def _route(scope: Scope) -> tuple[Callable[[bytes], Any], Handler] | None:
    path: str = scope["path"]
    if path == _BATCH:
        return _batch_of, _record_batch
    prefix, suffix = _TICKET_EVENTS
    if path.startswith(prefix) and path.endswith(suffix):
        ticket_id = path[len(prefix) : -len(suffix)]
        if ticket_id and "/" not in ticket_id:
            return (lambda body: _event_of(ticket_id, body)), _record_event
    prefix, suffix = _SERVICE_EVENTS
    if path.startswith(prefix) and path.endswith(suffix):
        service_id = path[len(prefix) : -len(suffix)]
        if service_id and "/" not in service_id:
            return (lambda body: _service_event_of(service_id, body)), _record_service_event
    return None


def _service_event_of(service_id: str, body: bytes) -> ServiceEventInput | None:
    entry = _json_object(body)
    return None if entry is None else well_formed_service(service_id, entry)


def _event_of(ticket_id: str, body: bytes) -> EventInput | None:
    entry = _json_object(body)
    if entry is None or "ticket_id" in entry:
        return None
    return well_formed({**entry, "ticket_id": ticket_id})


def _batch_of(body: bytes) -> list[dict[str, Any]] | None:
    """The items of a batch of BatchIn's exact shape, or None to let the route judge it."""
    entry = _json_object(body)
    events = entry.get("events") if entry is not None and entry.keys() == {"events"} else None
    if not isinstance(events, list) or len(events) > MAX_BATCH_ITEMS:
        return None
    if not all(type(e) is dict for e in events):
        return None
    return events


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # the declared route answers it, as json.loads judges it
    return parsed if type(parsed) is dict else None


async def _record_event(service: SlaService, item: EventInput) -> Answer:
    receipt = await service.record_event(item)
    return (201 if receipt.created else 200), receipt_body(receipt)


async def _record_service_event(service: SlaService, item: ServiceEventInput) -> Answer:
    receipt = await ServiceEvents(service.store, service.writer).record(item)
    return (201 if receipt.created else 200), service_receipt_body(receipt)


async def _record_batch(service: SlaService, events: list[dict[str, Any]]) -> Answer:
    return 200, batch_body(await service.record_batch(batch_items(events)))


_TEMPLATES: dict[Handler, str] = {
    _record_event: "/v1/tickets/{ticket_id}/events",
    _record_service_event: "/v1/services/{service_id}/events",
    _record_batch: _BATCH,
}


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    content = json_bytes(payload)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body the lane already read, then the real channel."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
