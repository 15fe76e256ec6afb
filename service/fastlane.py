"""The ingest fast lane: well-formed, authorised single events without FastAPI's per-request work.

On this machine FastAPI spends about 150 µs of the event loop on a POST with a
body and dependencies before the route runs (docs/architecture.md, "Ingest fast
lane"); for single-event ingest that framework cost, not the store, bounded the
rate. This ASGI middleware serves ``POST /v1/tickets/{ticket_id}/events`` itself
when it can vouch for the whole request: a JSON body of known length, a token
already known to grant ``events:write``, and an event of the documented shape.

Everything else is replayed, untouched, into the app, whose declared route (the
OpenAPI contract) answers it. The lane calls the same application service and
renders errors with the same function as the app's exception handlers, so its
answers are the declared route's answers; tests/api/test_fast_lane.py compares
them request by request.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.application import EventInput, SlaService
from service.auth import cached_scopes
from service.ingest import Receipt
from service.problems import problem_answer
from service.schemas import TICKET_ID_PATTERN
from service.tokens import Scope as TokenScope

log = logging.getLogger(__name__)

_EVENTS_PATH = re.compile(r"^/v1/tickets/([^/]+)/events$")
_ITEM_KEYS = frozenset({"ticket_id", "event_id", "type", "occurred_at", "data"})
_TICKET_ID = re.compile(TICKET_ID_PATTERN)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
_JSON_HEADERS = [(b"content-type", b"application/json")]


def well_formed(entry: dict[str, Any]) -> EventInput | None:
    """An event checked by hand against BatchItemIn's rules, or None to defer to pydantic."""
    if not entry.keys() <= _ITEM_KEYS:
        return None
    ticket_id, event_id = entry.get("ticket_id"), entry.get("event_id")
    event_type, instant = entry.get("type"), entry.get("occurred_at")
    data = entry.get("data", {})
    if not (isinstance(ticket_id, str) and _TICKET_ID.match(ticket_id)):
        return None
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 128):
        return None
    if not (isinstance(event_type, str) and isinstance(instant, str) and isinstance(data, dict)):
        return None
    occurred_at = _aware(instant)
    if occurred_at is None:
        return None
    return EventInput(ticket_id, event_id, event_type, occurred_at, data)


def _aware(text: str) -> datetime | None:
    if not _RFC3339.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def receipt_body(receipt: Receipt) -> dict[str, Any]:
    return {
        "ticket_id": receipt.ticket_id,
        "event_id": receipt.event_id,
        "version": receipt.version,
        "position": receipt.position,
        "recorded_at": instant_text(receipt.recorded_at),
    }


def instant_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class IngestFastLane:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _EVENTS_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        service = self._authorised_service(scope)
        if service is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its body: nobody to answer
        item = _event_of(match[1], body)
        if item is None:
            await self.app(scope, _replay(body, receive), send)
            return
        await self._record(service, item, scope, receive, send)

    def _authorised_service(self, scope: Scope) -> SlaService | None:
        """The service, when the request's shape and token let the lane take it."""
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

    async def _record(
        self, service: SlaService, item: EventInput, scope: Scope, receive: Receive, send: Send
    ) -> None:
        self.served += 1
        try:
            receipt = await service.record_event(item)
        except Exception as error:  # every error is answered as the app's handlers would
            await problem_answer(error)(scope, receive, send)
            return
        content = json_bytes(receipt_body(receipt))
        headers = [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())]
        status = 201 if receipt.created else 200
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _event_of(ticket_id: str, body: bytes) -> EventInput | None:
    try:
        entry = json.loads(body)
    except ValueError:
        return None
    if not isinstance(entry, dict) or "ticket_id" in entry:
        return None
    return well_formed({**entry, "ticket_id": ticket_id})


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
