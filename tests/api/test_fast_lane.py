"""The ingest fast lane answers exactly as the declared route does, request for request.

Two real servers on fresh databases get the same requests in the same order, one
with the lane and one without; every answer must match (status, content type,
the headers clients act on, and the body, bar the server's own clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.http.fastlane import IngestFastLane
from service.settings import Settings
from tests.api.fixtures import define_plan
from tests.support.server import ADMIN_TOKEN
from tests.support.sides import Side, comparable, layer_of, start_side

OPENED_AT = "2026-03-02T09:15:00Z"
OPENED = {
    "event_id": "e1",
    "type": "opened",
    "occurred_at": OPENED_AT,
    "data": {"plan": "standard", "customer": "acme", "priority": "high"},
}


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    with ExitStack() as stack:
        built = []
        for lane in (True, False):
            settings = Settings(
                database_url=f"sqlite:///{tmp_path_factory.mktemp('lane') / 'slaclock.db'}",
                admin_token=ADMIN_TOKEN,
                projections_enabled=False,
                ingest_fast_lane=lane,
                max_body_bytes=4096,
            )
            built.append(
                start_side(stack, settings, lambda http: define_plan(http, "dublin", "standard"))
            )
        yield built[0], built[1]


def lane_of(app: FastAPI) -> IngestFastLane:
    return layer_of(app, IngestFastLane)


def answer(response: httpx.Response) -> dict[str, Any]:
    is_json = "json" in response.headers.get("content-type", "")
    body = response.json() if is_json else response.text
    for receipt in [body, *(body.get("results", []) if isinstance(body, dict) else [])]:
        if isinstance(receipt, dict) and "recorded_at" in receipt:
            receipt["recorded_at"] = "<server clock>"
    return comparable(response, body)


def both(
    sides: tuple[Side, Side],
    path: str,
    auth: str | None = "admin",
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    answers = []
    for side in sides:
        named = {"admin": ADMIN_TOKEN, "writer": side.writer_token, "reader": side.reader_token}
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = f"Bearer {named[auth]}" if auth in named else auth
        body = {k: v() if callable(v) else v for k, v in kwargs.items()}
        with httpx.Client(base_url=side.base_url, timeout=30) as http:
            answers.append(answer(http.post(path, headers=sent, **body)))
    with_lane, declared = answers
    assert with_lane == declared
    return with_lane


def event(**changes: Any) -> dict[str, Any]:
    return OPENED | changes


def encoded(payload: dict[str, Any]) -> bytes:
    return httpx.Request("POST", "/", json=payload).content


def chunked(payload: dict[str, Any]) -> Any:
    """A body without Content-Length: a fresh generator for each side."""

    def chunks() -> Iterator[bytes]:
        content = encoded(payload)
        yield content[:10]
        yield content[10:]

    return chunks


JSON = {"Content-Type": "application/json"}
NESTED = {"sys_id": "9d3f", "sys_mod_count": 7, "tags": ["vip", {"score": 1.5, "x": None}]}
CASES: list[tuple[str, str, dict[str, Any], int]] = [
    ("first opened", "T-1", {"json": event()}, 201),
    ("a retry", "T-1", {"json": event()}, 200),
    ("event_id reused for another event", "T-1", {"json": event(type="responded", data={})}, 409),
    ("a second opened", "T-1", {"json": event(event_id="e2")}, 409),
    ("a ticket never opened", "T-2", {"json": event(type="responded", data={})}, 404),
    (
        "an event before opened",
        "T-1",
        {
            "json": event(
                event_id="e3", type="responded", occurred_at="2026-03-01T09:00:00Z", data={}
            )
        },
        422,
    ),
    ("an unknown plan", "T-3", {"json": event(data={"plan": "nope"})}, 422),
    (
        "an undeclared priority",
        "T-4",
        {"json": event(data={"plan": "standard", "priority": "x"})},
        422,
    ),
    ("an unknown type", "T-5", {"json": event(type="teleported")}, 422),
    ("a naive instant", "T-6", {"json": event(occurred_at="2026-03-02T09:15:00")}, 422),
    ("an extra field", "T-7", {"json": event(extra=1)}, 422),
    ("ticket_id in the body", "T-8", {"json": event(ticket_id="T-8")}, 422),
    ("a bad ticket id", "T%209", {"json": event()}, 422),
    ("a ticket id ending in a newline", "T-9%0A", {"json": event()}, 422),
    ("an instant ending in a newline", "T-9", {"json": event(occurred_at=OPENED_AT + "\n")}, 422),
    ("malformed JSON", "T-10", {"content": b'{"event_id": ', "headers": JSON}, 400),
    ("a JSON array", "T-11", {"json": [event()]}, 422),
    ("a chunked body", "T-12", {"content": chunked(event()), "headers": JSON}, 201),
    (
        "json with a charset",
        "T-13",
        {
            "content": encoded(event()),
            "headers": {"Content-Type": "application/json; charset=utf-8"},
        },
        201,
    ),
    ("a sequence", "S-1", {"json": event(sequence=3)}, 201),
    ("a retry with its sequence", "S-1", {"json": event(sequence=3)}, 200),
    ("a retry with another sequence", "S-1", {"json": event(sequence=4)}, 409),
    ("a retry without its sequence", "S-1", {"json": event()}, 409),
    ("a negative sequence", "S-2", {"json": event(sequence=-1)}, 422),
    ("a sequence as text", "S-2", {"json": event(sequence="3")}, 422),
    ("a fractional sequence", "S-2", {"json": event(sequence=1.5)}, 422),
    ("a boolean sequence", "S-2", {"json": event(sequence=True)}, 422),
    ("a sequence past 63 bits", "S-2", {"json": event(sequence=2**63)}, 422),
    ("a sequence past 64 bits", "S-2", {"json": event(sequence=2**64)}, 422),
    (
        "nested attributes",
        "S-3",
        {"json": event(data=OPENED["data"] | {"attributes": NESTED})},
        201,
    ),
    (
        "attributes not an object",
        "S-4",
        {"json": event(data={"plan": "standard", "attributes": [1]})},
        422,
    ),
    (
        "an attribute past 64 bits",
        "S-4",
        {"json": event(data={"plan": "standard", "attributes": {"n": 2**64}})},
        422,
    ),
    (
        "an attribute past 63 bits",
        "S-4",
        {"json": event(data={"plan": "standard", "attributes": {"n": 2**63}})},
        422,
    ),
    (
        "a lone surrogate attribute",
        "S-4",
        {
            "content": b'{"event_id":"e1","type":"opened","occurred_at":"2026-03-02T09:15:00Z",'
            b'"data":{"plan":"standard","attributes":{"x":"\\ud800"}}}',
            "headers": JSON,
        },
        422,
    ),
    (
        "a body over the limit",
        "T-14",
        {"json": event(data={"plan": "standard", "note": "x" * 5000})},
        413,
    ),
]


@pytest.mark.parametrize(
    ("ticket_id", "request_kwargs", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_lane_answers_as_the_declared_route(
    sides: tuple[Side, Side], ticket_id: str, request_kwargs: dict[str, Any], status: int
) -> None:
    got = both(sides, f"/v1/tickets/{ticket_id}/events", **request_kwargs)
    assert got["status"] == status, got


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        (None, 401),
        ("Basic abc", 401),
        ("Bearer slk_0_unknown", 401),
        ("reader", 403),
    ],
)
def test_the_lane_leaves_every_refusal_to_the_declared_route(
    sides: tuple[Side, Side], auth: str | None, status: int
) -> None:
    got = both(sides, "/v1/tickets/A-1/events", auth=auth, json=event())
    assert got["status"] == status, got


def item(ticket_id: str, **changes: Any) -> dict[str, Any]:
    return event(ticket_id=ticket_id, **changes)


BATCHES: list[tuple[str, dict[str, Any]]] = [
    ("a batch", {"json": {"events": [item("B-1"), item("B-2"), item("B-1")]}}),
    (
        "a batch with bad items",
        {
            "json": {
                "events": [
                    item("B-3", type="teleported"),
                    item("B-3", occurred_at="yesterday"),
                    item("B-4", extra=1),
                    item("B-5", data={"plan": "nope"}),
                    item("B-1", event_id="e9"),
                    {"event_id": "x"},
                ]
            }
        },
    ),
    ("an empty batch", {"json": {"events": []}}),
    ("a batch with an extra key", {"json": {"events": [], "more": 1}}),
    ("a batch of non-objects", {"json": {"events": [1, "two"]}}),
    ("a batch too long", {"json": {"events": [item(f"L-{n}") for n in range(1001)]}}),
    ("a batch of malformed JSON", {"content": b'{"events": [', "headers": JSON}),
    ("a batch that is a list", {"json": [item("B-6")]}),
]


@pytest.mark.parametrize("request_kwargs", [b[1] for b in BATCHES], ids=[b[0] for b in BATCHES])
def test_the_lane_answers_batches_as_the_declared_route(
    sides: tuple[Side, Side], request_kwargs: dict[str, Any]
) -> None:
    both(sides, "/v1/events/batch", **request_kwargs)


def test_a_trailing_newline_is_refused_in_a_batch_on_both_paths(sides: tuple[Side, Side]) -> None:
    # Python's ``$`` matches before a final newline: full-string matching must refuse these.
    items = [item("N-1\n"), item("N-2", occurred_at=OPENED_AT + "\n"), item("N-3")]
    got = both(sides, "/v1/events/batch", json={"events": items})
    assert [r["status"] for r in got["body"]["results"]] == [422, 422, 201]
    assert got["body"]["results"][0]["errors"][0]["field"] == "ticket_id"


def test_the_lane_served_well_formed_batches(sides: tuple[Side, Side]) -> None:
    served = lane_of(sides[0].app).served
    both(sides, "/v1/events/batch", json={"events": [item("C-1"), item("C-2", type="nope")]})
    both(sides, "/v1/events/batch", json={"events": [item("C-3")], "extra": True})
    assert lane_of(sides[0].app).served == served + 1


def test_a_token_known_to_the_cache_takes_the_lane(sides: tuple[Side, Side]) -> None:
    lane = lane_of(sides[0].app)
    # The first use looks the token up in the database, through the declared route.
    assert both(sides, "/v1/tickets/W-1/events", auth="writer", json=event())["status"] == 201
    served = lane.served
    assert both(sides, "/v1/tickets/W-2/events", auth="writer", json=event())["status"] == 201
    assert lane.served == served + 1


def test_the_lane_served_the_well_formed_requests(sides: tuple[Side, Side]) -> None:
    served = lane_of(sides[0].app).served
    both(sides, "/v1/tickets/S-1/events", json=event())
    both(sides, "/v1/tickets/S-1/events", json=event(event_id="x", type="teleported"))
    both(sides, "/v1/tickets/S-1/events", json=event(event_id="y", extra=1))
    # The first two are well formed (the second is refused by the service, in the lane);
    # the third is not, and the declared route answers it.
    assert lane_of(sides[0].app).served == served + 2


STARTED = {"event_id": "s1", "type": "outage_started", "occurred_at": "2026-03-07T14:00:00Z"}
SERVICE_CASES: list[tuple[str, str, dict[str, Any], int]] = [
    ("an outage start", "svc-1", {"json": STARTED}, 201),
    ("its retry", "svc-1", {"json": STARTED}, 200),
    ("a start while open", "svc-1", {"json": STARTED | {"event_id": "s2"}}, 409),
    (
        "an end before the open start",
        "svc-1",
        {
            "json": STARTED
            | {"event_id": "e0", "type": "outage_ended", "occurred_at": "2026-03-07T13:00:00Z"}
        },
        422,
    ),
    (
        "an end",
        "svc-1",
        {
            "json": STARTED
            | {"event_id": "e1", "type": "outage_ended", "occurred_at": "2026-03-07T15:00:00Z"}
        },
        201,
    ),
    (
        "an end while none is open",
        "svc-1",
        {
            "json": STARTED
            | {"event_id": "e2", "type": "outage_ended", "occurred_at": "2026-03-07T16:00:00Z"}
        },
        409,
    ),
    ("an unknown type", "svc-2", {"json": STARTED | {"type": "outage_paused"}}, 422),
    ("a naive instant", "svc-2", {"json": STARTED | {"occurred_at": "2026-03-07T14:00:00"}}, 422),
    ("an extra field", "svc-2", {"json": STARTED | {"extra": 1}}, 422),
    ("an unknown data field", "svc-2", {"json": STARTED | {"data": {"severity": "page"}}}, 422),
    ("a bad service id", "svc%203", {"json": STARTED}, 422),
    ("malformed JSON", "svc-4", {"content": b'{"event_id": ', "headers": JSON}, 400),
]


@pytest.mark.parametrize(
    ("service_id", "request_kwargs", "status"),
    [c[1:] for c in SERVICE_CASES],
    ids=[c[0] for c in SERVICE_CASES],
)
def test_the_lane_answers_service_events_as_the_declared_route(
    sides: tuple[Side, Side], service_id: str, request_kwargs: dict[str, Any], status: int
) -> None:
    got = both(sides, f"/v1/services/{service_id}/events", **request_kwargs)
    assert got["status"] == status, got


def test_the_lane_served_a_well_formed_service_event(sides: tuple[Side, Side]) -> None:
    served = lane_of(sides[0].app).served
    both(sides, "/v1/services/svc-9/events", json=STARTED)
    both(sides, "/v1/services/svc-9/events", json=STARTED | {"extra": 1})
    assert lane_of(sides[0].app).served == served + 1
