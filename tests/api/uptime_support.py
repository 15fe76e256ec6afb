"""Helpers for the uptime API tests: plans with uptime terms, outages, contract facts.

Contracts and claims are posted through `POST /v1/contracts/{id}/events`, as a
vendor's systems would post them.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.fixtures import DUBLIN, standard_policy


def uptime_terms(service: str, zone: str = "Europe/London") -> dict[str, Any]:
    return {
        "services": [service],
        "period": "month",
        "timezone": zone,
        "credits": [{"below": 0.999, "days": 7}, {"below": 0.99, "days": 14}],
        "claim_within_days": 30,
    }


def define_uptime_plan(
    client: httpx.Client, plan: str, service: str, zone: str = "Europe/London"
) -> None:
    calendar = f"{plan}-cal"
    assert client.put(f"/v1/calendars/{calendar}", json=DUBLIN).status_code in (200, 201)
    body = {**standard_policy(calendar), "uptime": uptime_terms(service, zone)}
    response = client.put(f"/v1/policies/{plan}", json=body)
    assert response.status_code in (200, 201), response.text


def outage(client: httpx.Client, service: str, event_id: str, kind: str, at: str) -> httpx.Response:
    body = {"event_id": event_id, "type": f"outage_{kind}", "occurred_at": at}
    return client.post(f"/v1/services/{service}/events", json=body)


def post_outage(client: httpx.Client, service: str, start: str, end: str) -> None:
    for kind, at in (("started", start), ("ended", end)):
        response = outage(client, service, f"{kind}-{at}", kind, at)
        assert response.status_code == 201, response.text


def _post(client: httpx.Client, contract: str, body: dict[str, Any]) -> str:
    response = client.post(f"/v1/contracts/{contract}/events", json=body)
    assert response.status_code == 201, response.text
    return str(body["event_id"])


def start_contract(
    client: httpx.Client, contract: str, plan: str, at: str, customer: str = "acme"
) -> None:
    term = {"start": at[:10], "months": 12, "timezone": "Europe/London"}
    data = {"customer": customer, "plan": plan, "term": term}
    body = {"event_id": f"{contract}-start", "type": "contract_started", "occurred_at": at}
    _post(client, contract, {**body, "data": data})


def claim(client: httpx.Client, contract: str, at: str, service: str, month: str) -> str:
    data = {"service": service, "period": month, "evidence": "https://status.example/shot.png"}
    body = {"event_id": f"{contract}-claim-{at}", "type": "credit_claimed", "occurred_at": at}
    return _post(client, contract, {**body, "data": data})


def end_contract(client: httpx.Client, contract: str, at: str) -> None:
    body = {"event_id": f"{contract}-end", "type": "contract_ended", "occurred_at": at}
    _post(client, contract, {**body, "data": {}})
