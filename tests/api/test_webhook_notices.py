"""Contract notices end to end: a real server, a real `slaclock webhooks`, a real receiver.

An allowance that falls under a fifth of its grant and a month whose uptime fails a
credit tier are each announced once, signed, to the subscriptions that match them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.api.conftest import unique
from tests.api.fixtures import define_plan
from tests.api.uptime_support import define_uptime_plan, post_outage, start_contract
from tests.api.webhook_support import iso, webhooks_process
from tests.support.receiver import Receiver
from tests.support.waiting import eventually

HOURS = {"id": "knowledge-hours", "unit": "hours", "amount": 20}


@pytest.fixture(scope="module")
def base_url(projected_base_url: str) -> str:
    return projected_base_url


def subscribe(
    client: httpx.Client, url: str, kinds: list[str], filters: dict[str, Any]
) -> dict[str, Any]:
    response = client.post("/v1/webhooks", json={"url": url, "kinds": kinds, "filters": filters})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def bodies(hook: Receiver, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(r.body) for r in list(hook.received)]
    return [b for b in found if b["type"] == kind]


def contract_with_hours(client: httpx.Client, plan: str, customer: str) -> str:
    contract = unique("contract")
    start = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    data = {
        "customer": customer,
        "plan": plan,
        "term": {"start": start, "months": 12, "timezone": "UTC"},
        "allowances": [HOURS],
    }
    body = {"event_id": "start", "type": "contract_started", "occurred_at": f"{start}T00:00:00Z"}
    response = client.post(f"/v1/contracts/{contract}/events", json={**body, "data": data})
    assert response.status_code == 201, response.text
    return contract


def log_hours(client: httpx.Client, contract: str, amount: float) -> None:
    at = iso(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    data = {"allowance": "knowledge-hours", "amount": amount}
    body = {"event_id": unique("log"), "type": "work_logged", "occurred_at": at, "data": data}
    response = client.post(f"/v1/contracts/{contract}/events", json=body)
    assert response.status_code == 201, response.text


def test_an_allowance_running_low_is_announced_once(
    client: httpx.Client, receiver: Receiver, module_database_url: str
) -> None:
    plan = unique("hours-plan")
    define_plan(client, unique("cal"), plan)
    customer = unique("customer")
    # A priority filter does not apply to a contract's events, which have no priority.
    filters = {"customer": [customer], "priority": ["critical"]}
    receiver.start()
    secret = subscribe(client, receiver.url, ["allowance_low", "breached"], filters)["secret"]
    low, healthy, later = (contract_with_hours(client, plan, customer) for _ in range(3))
    log_hours(client, low, 17)
    log_hours(client, healthy, 10)
    with webhooks_process(module_database_url):
        assert eventually(lambda: len(bodies(receiver, "allowance_low")) == 1, 30)
        log_hours(client, low, 1)  # lower still: the same fact, not announced again
        log_hours(client, later, 16.5)
        assert eventually(lambda: len(bodies(receiver, "allowance_low")) == 2, 30)
    first, second = bodies(receiver, "allowance_low")
    assert (first["data"]["contract_id"], second["data"]["contract_id"]) == (low, later)
    assert first["data"]["balance"] == 3.0
    assert first["data"]["granted"] == 20.0
    arrival = next(r for r in receiver.received if low.encode() in r.body)
    assert Webhook(secret).verify(arrival.body, arrival.headers)["data"]["customer"] == customer


def test_a_failed_uptime_tier_is_announced_as_a_claimable_credit(
    client: httpx.Client, receiver: Receiver, module_database_url: str
) -> None:
    plan, service = unique("uptime-plan"), unique("svc")
    define_uptime_plan(client, plan, service)
    receiver.start()
    hook = subscribe(client, receiver.url, ["credit_claimable"], {"plan": [plan]})
    now = datetime.now(UTC).replace(microsecond=0)
    contract = unique("contract")
    start_contract(client, contract, plan, iso(now - timedelta(days=40)))
    # 12 hours down: over 99% of any month, and over 99.9% of each month it may straddle.
    post_outage(client, service, iso(now - timedelta(hours=13)), iso(now - timedelta(hours=1)))
    with webhooks_process(module_database_url):
        assert eventually(lambda: len(bodies(receiver, "credit_claimable")) >= 1, 30)
    found = bodies(receiver, "credit_claimable")
    assert {b["data"]["contract_id"] for b in found} == {contract}
    assert all(b["data"]["service"] == service for b in found)
    assert {b["data"]["days"] for b in found} <= {7, 14}
    answer = client.get(f"/v1/contracts/{contract}/credits").json()
    claimable = {m["month"] for m in answer["months"] if m["claimable"]}
    assert {b["data"]["month"] for b in found} == claimable
    deliveries = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert {(d["contract_id"], d["ticket_id"], d["metric"]) for d in deliveries} == {
        (contract, None, None)
    }
