"""Contracts through the HTTP API: the write answers, the worked example, the bad inputs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import unique
from tests.api.fixtures import define_plan

TERM = {"start": "2026-03-15", "months": 12, "timezone": "America/Los_Angeles"}
HOURS = {"id": "knowledge-hours", "unit": "hours", "amount": 20}


def post(
    client: httpx.Client,
    contract: str,
    kind: str,
    at: str,
    data: dict[str, Any],
    event_id: str = "",
) -> httpx.Response:
    body = {"event_id": event_id or unique("ev"), "type": kind, "occurred_at": at, "data": data}
    return client.post(f"/v1/contracts/{contract}/events", json=body)


@pytest.fixture
def plan(client: httpx.Client) -> str:
    plan = unique("plan")
    define_plan(client, unique("cal"), plan)
    return plan


def start(client: httpx.Client, plan: str, customer: str, **extra: Any) -> str:
    contract = unique("contract")
    data = {"customer": customer, "plan": plan, "term": TERM, "allowances": [HOURS], **extra}
    answer = post(client, contract, "contract_started", "2026-03-15T09:00:00-07:00", data)
    assert answer.status_code == 201, answer.text
    return contract


def events_of(client: httpx.Client, contract: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/contracts/{contract}/events")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["events"])


def balance(client: httpx.Client, contract: str, as_of: str) -> Any:
    answer = client.get(f"/v1/contracts/{contract}", params={"as_of": as_of})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_softwareidm_worked_example(client: httpx.Client, plan: str) -> None:
    contract = start(client, plan, unique("softwareidm-customer"))
    log = {"allowance": "knowledge-hours"}
    assert (
        post(
            client, contract, "work_logged", "2026-05-02T10:00:00-07:00", {**log, "amount": 6.5}
        ).status_code
        == 201
    )
    assert (
        post(
            client, contract, "work_logged", "2026-11-20T10:00:00-08:00", {**log, "amount": 10}
        ).status_code
        == 201
    )
    view = balance(client, contract, "2026-12-01T00:00:00-08:00")
    assert view["status"] == "active"
    assert view["term"]["allowances"][0]["balance"] == 3.5
    refused = post(
        client, contract, "work_logged", "2027-01-10T10:00:00-08:00", {**log, "amount": 4}
    )
    assert refused.status_code == 409
    assert "3.5 hours left" in refused.json()["detail"]
    assert len(events_of(client, contract)) == 3
    ended = balance(client, contract, "2027-03-15T00:00:00-07:00")
    assert ended["status"] == "ended"
    assert ended["term"] is None
    assert ended["past_terms"][0]["allowances"][0]["forfeited"] == 3.5
    assert ended["ends_at"] == "2027-03-15T07:00:00Z"


def test_write_answers_retry_conflict_404_and_order(client: httpx.Client, plan: str) -> None:
    contract = start(client, plan, unique("cust"))
    data = {"allowance": "knowledge-hours", "amount": "1.5"}
    first = post(client, contract, "work_logged", "2026-04-01T00:00:00Z", data, "w-1")
    assert first.status_code == 201
    assert set(first.json()) == {"contract_id", "event_id", "version", "position", "recorded_at"}
    assert first.json()["recorded_at"].endswith("Z")  # as ticket receipts spell it
    again = post(client, contract, "work_logged", "2026-04-01T00:00:00Z", data, "w-1")
    assert (again.status_code, again.json()) == (200, first.json())
    other = post(
        client, contract, "work_logged", "2026-04-01T00:00:00Z", {**data, "amount": 2}, "w-1"
    )
    assert other.status_code == 409
    assert (
        post(client, unique("never"), "contract_ended", "2026-04-01T00:00:00Z", {}).status_code
        == 404
    )
    assert post(client, contract, "contract_ended", "2026-03-01T00:00:00Z", {}).status_code == 422
    second = {"customer": "x", "plan": plan, "term": TERM}
    assert (
        post(client, contract, "contract_started", "2026-04-01T00:00:00Z", second).status_code
        == 409
    )
    assert len(events_of(client, contract)) == 2


def test_the_start_is_listed_for_its_customer(client: httpx.Client, plan: str) -> None:
    customer = unique("cust")
    contract = start(client, plan, customer)
    listed = client.get("/v1/contracts", params={"customer": customer})
    assert listed.status_code == 200, listed.text
    assert [c["contract_id"] for c in listed.json()["items"]] == [contract]


def test_bad_input_is_422_and_stores_nothing(client: httpx.Client, plan: str) -> None:
    contract = unique("contract")
    at = "2026-03-15T09:00:00-07:00"
    base = {"customer": unique("cust"), "plan": plan, "term": TERM}
    for data in (
        {**base, "plan": "no-such-plan"},
        {**base, "calendar": "no-such-calendar"},
        {**base, "allowances": [{"id": "trm", "template": "no-such-template"}]},
    ):
        answer = post(client, contract, "contract_started", at, data)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/v1/contracts/{contract}/events").status_code == 404
    contract = start(client, plan, unique("cust"))
    for data in (
        {"allowance": "no-such-allowance", "amount": 1},
        {"allowance": "knowledge-hours", "amount": -1},
        {"allowance": "knowledge-hours", "amount": 0},
        {"allowance": "knowledge-hours", "amount": 1.005},
        {"allowance": "knowledge-hours", "amount": 2.5, "onsite": True},
    ):
        answer = post(client, contract, "work_logged", "2026-04-01T00:00:00Z", data)
        assert answer.status_code == 422, (data, answer.text)
    retract = {"event_id": "not-a-work-entry", "reason": "wrong"}
    assert (
        post(client, contract, "work_retracted", "2026-04-01T00:00:00Z", retract).status_code == 422
    )
    assert len(events_of(client, contract)) == 1


def test_a_claim_needs_evidence_and_a_plan_with_uptime_terms(
    client: httpx.Client, plan: str
) -> None:
    contract = start(client, plan, unique("cust"))
    claim = {"service": "iam-platform", "period": "2026-03"}
    bare = post(client, contract, "credit_claimed", "2026-04-02T00:00:00Z", claim)
    assert bare.status_code == 422
    claim = {**claim, "evidence": "https://x/shot.png"}
    refused = post(client, contract, "credit_claimed", "2026-04-02T00:00:00Z", claim)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["data.service"]
    assert "no uptime terms" in refused.text
    history = client.get(f"/v1/contracts/{contract}/events").json()["events"]
    assert [e["type"] for e in history] == ["contract_started"]


def test_the_write_needs_contracts_write(base_url: str) -> None:
    answer = httpx.post(f"{base_url}/v1/contracts/c/events", json={})
    assert answer.status_code == 401


def test_as_known_at_counts_only_what_was_recorded_by_then(client: httpx.Client, plan: str) -> None:
    contract = start(client, plan, unique("cust"))
    before = client.get(f"/v1/contracts/{contract}").json()
    assert before["evaluated_at"]
    log = {"allowance": "knowledge-hours", "amount": 5}
    logged = post(client, contract, "work_logged", "2026-04-01T00:00:00Z", log)
    recorded_at = logged.json()["recorded_at"]
    earlier = {"as_of": "2026-05-01T00:00:00Z", "as_known_at": "2026-03-15T17:00:00Z"}
    assert client.get(f"/v1/contracts/{contract}", params=earlier).status_code == 404
    known = {"as_of": "2026-05-01T00:00:00Z", "as_known_at": recorded_at}
    view = client.get(f"/v1/contracts/{contract}", params=known).json()
    assert view["term"]["allowances"][0]["balance"] == 15
    first = client.get(f"/v1/contracts/{contract}/events").json()["events"][0]["recorded_at"]
    just_started = client.get(
        f"/v1/contracts/{contract}", params={"as_of": "2026-05-01T00:00:00Z", "as_known_at": first}
    ).json()
    assert just_started["term"]["allowances"][0]["balance"] == 20


def test_status_is_suspended_between_suspension_and_reinstatement(
    client: httpx.Client, plan: str
) -> None:
    contract = start(client, plan, unique("cust"))
    suspended = {"reason": "non-compliance"}
    assert (
        post(client, contract, "sla_suspended", "2026-04-01T00:00:00Z", suspended).status_code
        == 201
    )
    assert post(client, contract, "sla_suspended", "2026-04-02T00:00:00Z", {}).status_code == 422
    assert post(client, contract, "sla_reinstated", "2026-04-10T00:00:00Z", {}).status_code == 201
    statuses = [
        balance(client, contract, at)["status"]
        for at in ("2026-03-31T00:00:00Z", "2026-04-05T00:00:00Z", "2026-04-10T00:00:00Z")
    ]
    assert statuses == ["active", "suspended", "active"]
