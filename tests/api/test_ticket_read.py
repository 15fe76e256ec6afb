"""Reading a ticket over real HTTP: the worked examples, as_of, as_known_at, segments."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import unique
from tests.api.fixtures import define_plan, event, opened

SCENARIOS = Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "worked-examples.json"


def worked_examples() -> dict[str, Any]:
    if not SCENARIOS.exists():
        pytest.skip(f"the shared worked examples are not beside the checkout ({SCENARIOS})")
    loaded: dict[str, Any] = json.loads(SCENARIOS.read_text())
    return loaded


def define_examples(client: httpx.Client, suffix: str) -> dict[str, Any]:
    examples = worked_examples()
    for calendar_id, body in examples["calendars"].items():
        assert client.put(f"/v1/calendars/{calendar_id}-{suffix}", json=body).status_code == 201
    for plan_id, body in examples["policies"].items():
        renamed = dict(body, calendar=f"{body['calendar']}-{suffix}")
        response = client.put(f"/v1/policies/{plan_id}-{suffix}", json=renamed)
        assert response.status_code == 201, response.text
    return examples


def test_worked_examples_over_http(client: httpx.Client) -> None:
    suffix = unique("x")
    examples = define_examples(client, suffix)
    for ticket in examples["tickets"]:
        ticket_id = f"{ticket['ticket_id']}-{suffix}"
        for item in ticket["events"]:
            body = json.loads(json.dumps(item))
            if body["type"] == "opened":
                body["data"]["plan"] = f"{body['data']['plan']}-{suffix}"
            response = client.post(f"/v1/tickets/{ticket_id}/events", json=body)
            assert response.status_code == 201, response.text
        got = client.get(f"/v1/tickets/{ticket_id}", params={"as_of": ticket["as_of"]}).json()
        expect = ticket["expect"]
        assert got["priority"] == expect["priority"], ticket["ticket_id"]
        assert got["status"] == expect["status"]
        assert got["evaluated_at"] == ticket["as_of"]
        clocks = {c["metric"]: c for c in got["clocks"]}
        assert set(clocks) == {c["metric"] for c in expect["clocks"]}
        for wanted in expect["clocks"]:
            clock = clocks[wanted["metric"]]
            for key, expected in wanted.items():
                value = expected
                if key == "calendar" and expected != "24x7":
                    value = f"{expected}-{suffix}"
                assert clock[key] == value, (ticket["ticket_id"], wanted["metric"], key)


@pytest.fixture
def plan(client: httpx.Client) -> str:
    plan_id = unique("plan")
    define_plan(client, unique("cal"), plan_id)
    return plan_id


def clock(body: dict[str, Any], metric: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in body["clocks"] if c["metric"] == metric)
    return found


def test_as_of_uses_only_events_that_had_occurred(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan, at="2026-03-10T09:00:00Z"))
    client.post(
        f"/v1/tickets/{ticket}/events", json=event("r", "responded", "2026-03-10T10:00:00Z")
    )
    before = client.get(f"/v1/tickets/{ticket}", params={"as_of": "2026-03-10T09:30:00Z"}).json()
    after = client.get(f"/v1/tickets/{ticket}", params={"as_of": "2026-03-10T11:00:00Z"}).json()
    assert clock(before, "response")["state"] == "running"
    assert clock(before, "response")["elapsed_seconds"] == 1800
    assert clock(after, "response")["state"] == "stopped"
    assert clock(after, "response")["outcome"] == "met"


def test_as_known_at_ignores_a_late_event_recorded_after(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan, at="2026-03-10T09:00:00Z"))
    first = client.post(
        f"/v1/tickets/{ticket}/events", json=event("p", "awaiting_customer", "2026-03-10T12:00:00Z")
    ).json()
    late = event("r", "responded", "2026-03-10T10:00:00Z")  # recorded after, occurred before
    client.post(f"/v1/tickets/{ticket}/events", json=late)
    as_of = {"as_of": "2026-03-10T13:00:00Z"}
    now = client.get(f"/v1/tickets/{ticket}", params=as_of).json()
    then = client.get(
        f"/v1/tickets/{ticket}", params=as_of | {"as_known_at": first["recorded_at"]}
    ).json()
    assert clock(now, "response")["state"] == "stopped"
    assert clock(now, "response")["stopped_at"] == "2026-03-10T10:00:00Z"
    assert clock(then, "response")["state"] == "running"
    assert clock(then, "relief")["state"] == "paused"


def test_as_known_at_before_the_ticket_was_recorded_is_404(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan, at="2026-03-10T09:00:00Z"))
    response = client.get(f"/v1/tickets/{ticket}", params={"as_known_at": "2020-01-01T00:00:00Z"})
    assert response.status_code == 404


def test_policy_version_recorded_after_as_known_at_is_not_used(
    client: httpx.Client, plan: str
) -> None:
    ticket = unique("T")
    receipt = client.post(
        f"/v1/tickets/{ticket}/events",
        json=opened("o", plan, at="2026-03-10T09:00:00Z", priority="high"),
    ).json()
    policy = client.get(f"/v1/policies/{plan}").json()
    body = {
        k: policy[k]
        for k in (
            "name",
            "calendar",
            "priorities",
            "default_priority",
            "calendar_overrides",
            "metrics",
        )
    }
    body["metrics"]["response"]["targets"]["high"] = {"hours": 3}
    body["effective_from"] = "2025-01-01T00:00:00Z"  # backdated: applies to this ticket now
    assert client.put(f"/v1/policies/{plan}", json=body).status_code == 201
    params = {"as_of": "2026-03-10T09:30:00Z"}
    now = client.get(f"/v1/tickets/{ticket}", params=params).json()
    then = client.get(
        f"/v1/tickets/{ticket}", params=params | {"as_known_at": receipt["recorded_at"]}
    ).json()
    assert (now["policy_version"], clock(now, "response")["target_seconds"]) == (2, 10800)
    assert (then["policy_version"], clock(then, "response")["target_seconds"]) == (1, 7200)


def test_segments_explain_the_clock(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan, at="2026-03-10T16:00:00Z"))
    client.post(
        f"/v1/tickets/{ticket}/events", json=event("w", "awaiting_customer", "2026-03-11T10:00:00Z")
    )
    client.post(
        f"/v1/tickets/{ticket}/events", json=event("c", "customer_replied", "2026-03-11T11:00:00Z")
    )
    params = {"as_of": "2026-03-11T12:00:00Z"}
    state = client.get(f"/v1/tickets/{ticket}", params=params).json()
    ledger = client.get(f"/v1/tickets/{ticket}/clocks/relief/segments", params=params).json()
    segments = ledger["segments"]
    kinds = [s["kind"] for s in segments]
    assert "outside_hours" in kinds
    assert "paused" in kinds
    assert sum(s["seconds"] for s in segments) == clock(state, "relief")["elapsed_seconds"]
    assert segments[0]["start"] == "2026-03-10T16:00:00Z"
    assert segments[0]["event_id"] == "o"
    assert any(s["kind"] == "paused" and s["event_id"] == "w" for s in segments)
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(segments))


def test_unknown_ticket_and_metric(client: httpx.Client, plan: str) -> None:
    assert client.get(f"/v1/tickets/{unique('T')}").status_code == 404
    ticket = unique("T")
    client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan))
    assert client.get(f"/v1/tickets/{ticket}/clocks/uptime/segments").status_code == 422
    assert (
        client.get(f"/v1/tickets/{ticket}", params={"as_of": "2026-03-10T09:00:00"}).status_code
        == 422
    )
