"""The dashboards' lists: contracts by customer, plan and status; allowances by state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import unique
from tests.api.fixtures import define_plan
from tests.api.test_contracts import post

NOW_TERM = {"start": "2026-01-01", "months": 12, "timezone": "UTC"}


@pytest.fixture
def plan(client: httpx.Client) -> str:
    plan = unique("plan")
    define_plan(client, unique("cal"), plan)
    return plan


def start(client: httpx.Client, plan: str, customer: str, hours: int, **term: Any) -> str:
    contract = unique("c")
    data = {
        "customer": customer,
        "plan": plan,
        "term": {**NOW_TERM, **term},
        "allowances": [{"id": "hours", "unit": "hours", "amount": hours}],
    }
    assert (
        post(client, contract, "contract_started", "2026-01-01T00:00:00Z", data).status_code == 201
    )
    return contract


def items(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_contracts_filter_by_customer_plan_and_status_and_page(
    client: httpx.Client, plan: str
) -> None:
    customer = unique("cust")
    kept = [start(client, plan, customer, 10, start="2026-01-01") for _ in range(3)]
    ended = kept.pop()
    assert post(client, ended, "contract_ended", "2026-02-01T00:00:00Z", {}).status_code == 201
    listed = items(client, "/v1/contracts", customer=customer)
    assert [c["contract_id"] for c in listed] == sorted([*kept, ended])
    active = items(client, "/v1/contracts", customer=customer, status="active")
    assert [c["contract_id"] for c in active] == sorted(kept)
    assert items(client, "/v1/contracts", customer=customer, plan="other") == []
    first = client.get("/v1/contracts", params={"customer": customer, "limit": 2}).json()
    assert len(first["items"]) == 2
    rest = client.get(
        "/v1/contracts", params={"customer": customer, "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [c["contract_id"] for c in first["items"] + rest["items"]] == sorted([*kept, ended])
    assert rest["next_cursor"] is None
    other = client.get("/v1/contracts", params={"limit": 2, "cursor": first["next_cursor"]})
    assert other.status_code == 422


def test_allowances_low_exhausted_and_expiring(client: httpx.Client, plan: str) -> None:
    low = start(client, plan, unique("cust"), 10)
    done = start(client, plan, unique("cust"), 10)
    fresh = start(client, plan, unique("cust"), 10)
    log = {"allowance": "hours"}
    assert (
        post(client, low, "work_logged", "2026-02-01T00:00:00Z", {**log, "amount": 8.5}).status_code
        == 201
    )
    assert (
        post(client, done, "work_logged", "2026-02-01T00:00:00Z", {**log, "amount": 10}).status_code
        == 201
    )
    ids = {low, done, fresh}

    def listed(**params: Any) -> set[str]:
        params.setdefault("as_of", "2026-12-10T00:00:00Z")
        return {i["contract_id"] for i in items(client, "/v1/allowances", **params)} & ids

    assert listed(state="low") == {low, done}
    assert listed(state="exhausted") == {done}
    # The terms end on 1 January 2027, 22 days after as_of; "done" has nothing left to expire.
    assert listed(state="expiring", within_days=22) == {low, fresh}
    assert listed(state="expiring", within_days=21) == set()
    assert listed(state="expiring") == {low, fresh}  # within 30 days by default
    assert listed(as_of="2027-01-01T00:00:00Z") == set()  # ended: no current term
