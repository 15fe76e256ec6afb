"""Ticket event ingest over real HTTP, per api.md, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import unique
from tests.api.fixtures import define_plan, event, opened

PROBLEM = "application/problem+json"


@pytest.fixture
def plan(client: httpx.Client) -> str:
    plan_id = unique("plan")
    define_plan(client, unique("cal"), plan_id)
    return plan_id


def post(client: httpx.Client, ticket: str, body: dict[str, object]) -> httpx.Response:
    return client.post(f"/v1/tickets/{ticket}/events", json=body)


def fields(response: httpx.Response) -> set[str]:
    assert response.headers["content-type"].startswith(PROBLEM)
    return {e["field"] for e in response.json().get("errors", [])}


def test_opened_is_recorded_with_version_position_and_recorded_at(
    client: httpx.Client, plan: str
) -> None:
    ticket = unique("T")
    response = post(client, ticket, opened("e1", plan, priority="high"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ticket_id"] == ticket
    assert body["event_id"] == "e1"
    assert body["version"] == 1
    assert body["position"] >= 1
    assert body["recorded_at"].endswith("Z")


def test_retry_with_same_body_gets_first_answer_and_stores_nothing(
    client: httpx.Client, plan: str
) -> None:
    ticket = unique("T")
    first = post(client, ticket, opened("e1", plan))
    again = post(client, ticket, opened("e1", plan))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    history = client.get(f"/v1/tickets/{ticket}/events").json()["events"]
    assert [e["event_id"] for e in history] == ["e1"]


def test_same_instant_in_another_offset_is_the_same_body(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    post(client, ticket, opened("e1", plan))
    responded = event("e2", "responded", "2026-03-16T17:00:00Z")
    assert post(client, ticket, responded).status_code == 201
    shifted = event("e2", "responded", "2026-03-16T18:00:00+01:00")
    assert post(client, ticket, shifted).status_code == 200


def test_reused_event_id_with_another_body_is_409(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    post(client, ticket, opened("e1", plan))
    post(client, ticket, event("e2", "responded", "2026-03-16T17:00:00Z"))
    response = post(client, ticket, event("e2", "relieved", "2026-03-16T17:00:00Z"))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM)


def test_second_opened_is_409(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    post(client, ticket, opened("e1", plan))
    assert post(client, ticket, opened("e2", plan)).status_code == 409


def test_event_on_a_ticket_never_opened_is_404(client: httpx.Client) -> None:
    response = post(client, unique("T"), event("e1", "responded", "2026-03-16T17:00:00Z"))
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_event_before_opened_is_422(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    post(client, ticket, opened("e1", plan))
    response = post(client, ticket, event("e2", "responded", "2026-03-16T16:00:00Z"))
    assert response.status_code == 422
    assert "occurred_at" in fields(response)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_id": "x", "type": "exploded", "occurred_at": "2026-03-16T17:00:00Z"}, "type"),
        (
            {"event_id": "x", "type": "opened", "occurred_at": "2026-03-16T17:00:00", "data": {}},
            "occurred_at",
        ),
        (
            {"event_id": "x", "type": "opened", "occurred_at": "2026-03-16T17:00:00Z", "data": {}},
            "data.plan",
        ),
        (
            {
                "event_id": "x",
                "type": "opened",
                "occurred_at": "2026-03-16T17:00:00Z",
                "data": {"plan": "no-such-plan"},
            },
            "data.plan",
        ),
        (
            {"event_id": "x", "type": "opened", "occurred_at": "yesterday", "data": {}},
            "occurred_at",
        ),
        ({"event_id": "", "type": "opened", "occurred_at": "2026-03-16T17:00:00Z"}, "event_id"),
        (
            {
                "event_id": "x",
                "type": "opened",
                "occurred_at": "2026-03-16T17:00:00Z",
                "data": {"plan": "p", "kind": "rant"},
            },
            "data.kind",
        ),
        (
            {
                "event_id": "x",
                "type": "opened",
                "occurred_at": "2026-03-16T17:00:00Z",
                "data": {"plan": "p", "priorty": "P1"},
            },
            "data.priorty",
        ),
    ],
)
def test_malformed_event_is_422_naming_the_field(
    client: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = post(client, unique("T"), body)
    assert response.status_code == 422, response.text
    assert field in fields(response)


def test_undeclared_priority_is_422(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    assert post(client, ticket, opened("e1", plan, priority="P9")).status_code == 422
    post(client, ticket, opened("e1", plan))
    change = event("e2", "priority_changed", "2026-03-16T17:00:00Z", priority="urgent")
    response = post(client, ticket, change)
    assert response.status_code == 422
    assert "data.priority" in fields(response)


def test_opened_before_any_policy_version_is_422(client: httpx.Client, plan: str) -> None:
    response = post(client, unique("T"), opened("e1", plan, at="2024-06-01T10:00:00Z"))
    assert response.status_code == 422
    assert "data.plan" in fields(response)


def test_bad_ticket_id_is_422(client: httpx.Client, plan: str) -> None:
    response = client.post("/v1/tickets/bad%20id/events", json=opened("e1", plan))
    assert response.status_code == 422


def test_malformed_json_is_a_problem_not_a_500(client: httpx.Client) -> None:
    response = client.post(
        f"/v1/tickets/{unique('T')}/events",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    huge = b'{"event_id": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = client.post(
        f"/v1/tickets/{unique('T')}/events",
        content=huge,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_streamed_body_over_the_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> object:
        yield b'{"event_id": "'
        for _ in range(40):
            yield b"x" * 100_000
        yield b'"}'

    response = client.post(
        f"/v1/tickets/{unique('T')}/events",
        content=chunks(),  # type: ignore[arg-type]
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def test_batch_applies_items_in_order_each_on_its_own(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    items = [
        {"ticket_id": ticket, **opened("e1", plan)},
        {"ticket_id": ticket, **event("e2", "responded", "2026-03-16T17:00:00Z")},
        {"ticket_id": ticket, **event("e2", "responded", "2026-03-16T17:00:00Z")},
        {"ticket_id": ticket, **event("e3", "relieved", "2026-03-16T10:00:00Z")},
        {"ticket_id": unique("T"), **event("e1", "responded", "2026-03-16T17:00:00Z")},
        {"ticket_id": "bad id", **opened("e1", plan)},
        {"ticket_id": ticket, "event_id": "e4"},
    ]
    response = client.post("/v1/events/batch", json={"events": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 200, 422, 404, 422, 422]
    assert results[2]["position"] == results[1]["position"]
    assert results[1]["version"] == 2
    assert "ticket_id" in {e["field"] for e in results[5]["errors"]}


def test_batch_over_1000_items_is_422(client: httpx.Client) -> None:
    response = client.post("/v1/events/batch", json={"events": [{}] * 1001})
    assert response.status_code == 422


def test_audit_trail_in_recorded_order_with_both_instants(client: httpx.Client, plan: str) -> None:
    ticket = unique("T")
    post(client, ticket, opened("e1", plan))
    second = post(client, ticket, event("e2", "responded", "2026-03-17T10:00:00Z")).json()
    late = post(client, ticket, event("e3", "awaiting_customer", "2026-03-16T16:45:00Z")).json()
    events = client.get(f"/v1/tickets/{ticket}/events").json()["events"]
    assert [e["event_id"] for e in events] == ["e1", "e2", "e3"]
    assert [e["version"] for e in events] == [1, 2, 3]
    assert events[2]["occurred_at"] == "2026-03-16T16:45:00Z"
    assert events[0]["position"] < events[1]["position"] < events[2]["position"]
    known = client.get(
        f"/v1/tickets/{ticket}/events", params={"as_known_at": second["recorded_at"]}
    )
    assert [e["event_id"] for e in known.json()["events"]] == ["e1", "e2"]
    assert late["recorded_at"] >= second["recorded_at"]


def test_audit_trail_of_unknown_ticket_is_404(client: httpx.Client) -> None:
    assert client.get(f"/v1/tickets/{unique('T')}/events").status_code == 404
