"""Service outage events over real HTTP: answers like ticket events, 409s, 422s, audit trail."""

from __future__ import annotations

import httpx

from tests.api.conftest import unique
from tests.api.uptime_support import outage

PROBLEM = "application/problem+json"


def test_an_outage_is_recorded_and_a_retry_gets_the_first_answer(client: httpx.Client) -> None:
    service = unique("svc")
    first = outage(client, service, "a1", "started", "2026-03-07T14:00:00Z")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["service_id"], body["event_id"], body["version"]) == (service, "a1", 1)
    assert body["position"] >= 1
    assert body["recorded_at"].endswith("Z")
    again = outage(client, service, "a1", "started", "2026-03-07T14:00:00+00:00")
    assert (again.status_code, again.json()) == (200, body)
    reused = outage(client, service, "a1", "started", "2026-03-07T14:01:00Z")
    assert reused.status_code == 409
    history = client.get(f"/v1/services/{service}/events").json()
    assert [(e["event_id"], e["type"]) for e in history["events"]] == [("a1", "outage_started")]


def test_start_while_open_and_end_while_closed_are_409(client: httpx.Client) -> None:
    service = unique("svc")
    assert outage(client, service, "s1", "started", "2026-03-07T14:00:00Z").status_code == 201
    twice = outage(client, service, "s2", "started", "2026-03-07T14:10:00Z")
    assert twice.status_code == 409
    assert twice.headers["content-type"].startswith(PROBLEM)
    assert outage(client, service, "e1", "ended", "2026-03-07T14:50:00Z").status_code == 201
    assert outage(client, service, "e2", "ended", "2026-03-07T15:00:00Z").status_code == 409
    # Late, at its own instant: the service was up at 09:00, so an outage fits there.
    assert outage(client, service, "s0", "started", "2026-03-07T09:00:00Z").status_code == 201
    assert outage(client, service, "e0", "ended", "2026-03-07T09:30:00Z").status_code == 201
    events = client.get(f"/v1/services/{service}/events").json()["events"]
    assert [e["event_id"] for e in events] == ["s1", "e1", "s0", "e0"]


def test_bad_input_is_422_and_stores_nothing(client: httpx.Client) -> None:
    service = unique("svc")
    naive = client.post(
        f"/v1/services/{service}/events",
        json={"event_id": "n", "type": "outage_started", "occurred_at": "2026-03-07T14:00:00"},
    )
    assert naive.status_code == 422
    assert naive.headers["content-type"].startswith(PROBLEM)
    assert outage(client, service, "t", "restarted", "2026-03-07T14:00:00Z").status_code == 422
    assert client.get(f"/v1/services/{service}/events").status_code == 404
    assert outage(client, service, "s", "started", "2026-03-07T14:00:00Z").status_code == 201
    before = outage(client, service, "e", "ended", "2026-03-07T13:00:00Z")
    assert before.status_code == 422
    assert {e["field"] for e in before.json()["errors"]} == {"occurred_at"}
    extra = client.post(
        f"/v1/services/{service}/events",
        json={
            "event_id": "x",
            "type": "outage_ended",
            "occurred_at": "2026-03-07T15:00:00Z",
            "data": {"severity": "page"},
        },
    )
    assert extra.status_code == 422
    assert len(client.get(f"/v1/services/{service}/events").json()["events"]) == 1


def test_the_audit_trail_reads_as_known_at(client: httpx.Client) -> None:
    service = unique("svc")
    first = outage(client, service, "s", "started", "2026-03-07T14:00:00Z").json()
    outage(client, service, "e", "ended", "2026-03-07T14:50:00Z")
    known = client.get(
        f"/v1/services/{service}/events", params={"as_known_at": first["recorded_at"]}
    ).json()
    assert [e["event_id"] for e in known["events"]] == ["s"]
