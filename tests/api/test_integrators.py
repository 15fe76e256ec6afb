"""Integrators over real HTTP: ``sequence`` orders a minute-stamped log, and
``data.attributes`` is stored and returned, never interpreted."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import unique
from tests.api.fixtures import define_plan, event, opened

AS_OF = "2026-03-13T12:00:00Z"


def servicenow_log(plan: str, *, with_sequence: bool) -> list[dict[str, Any]]:
    """Stamped to the minute, in the order the source made them (sys_mod_count 1..4):
    resolved at 09:04, reopened and resolved again in that same minute."""
    log = [
        opened("inc-1", plan, "2026-03-02T09:00:00Z", priority="high"),
        event("inc-2", "resolved", "2026-03-02T09:04:00Z"),
        event("inc-3", "reopened", "2026-03-02T09:04:00Z"),
        event("inc-4", "resolved", "2026-03-02T09:04:00Z"),
    ]
    if with_sequence:
        for number, body in enumerate(log, start=1):
            body["sequence"] = number
    return log


def replay(client: httpx.Client, ticket_id: str, log: list[dict[str, Any]]) -> None:
    """The reopening's first delivery failed; it is re-sent after the last resolution."""
    first, resolved, reopened, resolved_again = log
    for body in (first, resolved):
        response = client.post(f"/v1/tickets/{ticket_id}/events", json=body)
        assert response.status_code == 201, response.text
    batch = [{"ticket_id": ticket_id, **b} for b in (resolved_again, reopened)]
    results = client.post("/v1/events/batch", json={"events": batch}).json()["results"]
    assert [r["status"] for r in results] == [201, 201]


def resolution(client: httpx.Client, ticket_id: str) -> dict[str, Any]:
    ticket = client.get(f"/v1/tickets/{ticket_id}", params={"as_of": AS_OF}).json()
    clock: dict[str, Any] = next(c for c in ticket["clocks"] if c["metric"] == "resolution")
    return {"status": ticket["status"], **clock}


def test_without_sequence_the_resent_event_turns_a_met_resolution_into_a_breach(
    client: httpx.Client,
) -> None:
    plan, ticket_id = unique("plan"), unique("INC")
    define_plan(client, unique("cal"), plan)
    replay(client, ticket_id, servicenow_log(plan, with_sequence=False))
    got = resolution(client, ticket_id)
    assert (got["status"], got["state"], got["outcome"]) == ("open", "running", "breached")
    assert got["elapsed_seconds"] > got["target_seconds"]


def test_with_sequence_the_resolution_is_met_in_240_seconds(client: httpx.Client) -> None:
    plan, ticket_id = unique("plan"), unique("INC")
    define_plan(client, unique("cal"), plan)
    replay(client, ticket_id, servicenow_log(plan, with_sequence=True))
    got = resolution(client, ticket_id)
    assert (got["status"], got["state"], got["outcome"]) == ("resolved", "stopped", "met")
    assert got["elapsed_seconds"] == 240


def test_the_audit_trail_shows_sequence_and_attributes(client: httpx.Client) -> None:
    plan, ticket_id = unique("plan"), unique("INC")
    define_plan(client, unique("cal"), plan)
    raw = {"sys_id": "9d3f", "u_tags": ["vip", {"score": 1.5, "none": None}], "n": 7}
    first = opened("e1", plan, "2026-03-02T09:00:00Z", attributes=raw) | {"sequence": 0}
    assert client.post(f"/v1/tickets/{ticket_id}/events", json=first).status_code == 201
    second = event("e2", "responded", "2026-03-02T09:05:00Z", attributes={})
    assert client.post(f"/v1/tickets/{ticket_id}/events", json=second).status_code == 201
    trail = client.get(f"/v1/tickets/{ticket_id}/events").json()["events"]
    assert [(e["sequence"], e["data"].get("attributes")) for e in trail] == [(0, raw), (None, {})]
    # Attributes are never interpreted: the clocks are those of a ticket without them.
    ticket = client.get(f"/v1/tickets/{ticket_id}").json()
    assert ticket["priority"] == "normal"


def test_attributes_take_part_in_the_fingerprint_in_canonical_order(
    client: httpx.Client,
) -> None:
    plan, ticket_id = unique("plan"), unique("INC")
    define_plan(client, unique("cal"), plan)
    body = opened("e1", plan, attributes={"a": 1, "b": {"c": 2, "d": 3}})
    assert client.post(f"/v1/tickets/{ticket_id}/events", json=body).status_code == 201
    reordered = opened("e1", plan, attributes={"b": {"d": 3, "c": 2}, "a": 1})
    assert client.post(f"/v1/tickets/{ticket_id}/events", json=reordered).status_code == 200
    changed = opened("e1", plan, attributes={"a": 1, "b": {"c": 2, "d": 4}})
    assert client.post(f"/v1/tickets/{ticket_id}/events", json=changed).status_code == 409


def test_attributes_over_4_kb_or_not_an_object_are_refused_naming_the_field(
    client: httpx.Client,
) -> None:
    plan, ticket_id = unique("plan"), unique("INC")
    define_plan(client, unique("cal"), plan)
    fits = opened("e1", plan, attributes={"x": "y" * (4096 - len('{"x":""}'))})
    assert client.post(f"/v1/tickets/{ticket_id}/events", json=fits).status_code == 201
    for attributes in ({"x": "y" * 4096}, "text", [1, 2], 3):
        body = event("e2", "responded", "2026-03-16T17:00:00Z", attributes=attributes)
        response = client.post(f"/v1/tickets/{ticket_id}/events", json=body)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["data.attributes"]
    batch = {"events": [{"ticket_id": ticket_id, **body}]}
    result = client.post("/v1/events/batch", json=batch).json()["results"][0]
    assert (result["status"], result["errors"][0]["field"]) == (422, "data.attributes")
