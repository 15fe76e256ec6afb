"""Tickets bound by contract or customer: which plan and calendar they get, and the 422s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import unique
from tests.api.fixtures import define_plan
from tests.api.test_contracts import TERM, post

AT = "2026-04-01T10:00:00Z"


@pytest.fixture
def plan(client: httpx.Client) -> str:
    plan = unique("plan")
    define_plan(client, unique("cal"), plan)
    return plan


def contract_on(client: httpx.Client, plan: str, customer: str, **extra: Any) -> str:
    contract = unique("contract")
    data = {"customer": customer, "plan": plan, "term": TERM, **extra}
    answer = post(client, contract, "contract_started", "2026-03-15T09:00:00-07:00", data)
    assert answer.status_code == 201, answer.text
    return contract


def open_ticket(
    client: httpx.Client, ticket: str, data: dict[str, Any], at: str = AT
) -> httpx.Response:
    body = {"event_id": f"{ticket}-open", "type": "opened", "occurred_at": at, "data": data}
    return client.post(f"/v1/tickets/{ticket}/events", json=body)


def stored_opened(client: httpx.Client, ticket: str) -> dict[str, Any]:
    answer = client.get(f"/v1/tickets/{ticket}/events")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["events"][0]["data"])


def test_a_ticket_opened_by_customer_gets_the_contracts_regional_calendar(
    client: httpx.Client, plan: str
) -> None:
    customer = unique("cust")
    contract = contract_on(client, plan, customer, calendar="24x7")
    ticket = unique("t")
    first = open_ticket(client, ticket, {"customer": customer, "priority": "normal"})
    assert first.status_code == 201, first.text
    data = stored_opened(client, ticket)
    assert (data["plan"], data["contract"], data["calendar"]) == (plan, contract, "24x7")
    clocks = client.get(f"/v1/tickets/{ticket}").json()["clocks"]
    assert {c["calendar"] for c in clocks} == {"24x7"}
    # The fingerprint is the posted body's: a retry gets the first answer.
    again = open_ticket(client, ticket, {"customer": customer, "priority": "normal"})
    assert (again.status_code, again.json()) == (200, first.json())


def test_a_ticket_naming_the_contract_uses_its_plan(client: httpx.Client, plan: str) -> None:
    customer = unique("cust")
    contract = contract_on(client, plan, customer)
    ticket = unique("t")
    assert open_ticket(client, ticket, {"contract": contract}).status_code == 201
    assert stored_opened(client, ticket)["plan"] == plan
    # The ticket belongs to the contract's customer (dashboards filter by it).
    assert client.get(f"/v1/tickets/{ticket}").json()["customer"] == customer
    disagreeing = open_ticket(client, unique("t"), {"contract": contract, "plan": "other-plan"})
    assert disagreeing.status_code == 422


def test_plan_and_customer_bind_to_the_contract_on_that_plan(
    client: httpx.Client, plan: str
) -> None:
    customer = unique("cust")
    contract = contract_on(client, plan, customer, calendar="24x7")
    ticket = unique("t")
    assert open_ticket(client, ticket, {"plan": plan, "customer": customer}).status_code == 201
    assert stored_opened(client, ticket)["contract"] == contract
    loose = unique("t")
    assert (
        open_ticket(client, loose, {"plan": plan, "customer": unique("other")}).status_code == 201
    )
    assert "contract" not in stored_opened(client, loose)


def test_overlapping_contracts_are_422_naming_them_and_nothing_is_stored(
    client: httpx.Client, plan: str
) -> None:
    customer = unique("cust")
    first = contract_on(client, plan, customer)
    second = contract_on(client, plan, customer)
    ticket = unique("t")
    answer = open_ticket(client, ticket, {"customer": customer})
    assert answer.status_code == 422
    assert first in answer.json()["detail"]
    assert second in answer.json()["detail"]
    assert client.get(f"/v1/tickets/{ticket}/events").status_code == 404
    assert (
        open_ticket(client, ticket, {"customer": customer, "contract": second}).status_code == 201
    )


def test_after_the_contract_ended_only_a_plan_opens_a_ticket(
    client: httpx.Client, plan: str
) -> None:
    customer = unique("cust")
    contract = contract_on(client, plan, customer)
    assert post(client, contract, "contract_ended", "2026-03-20T00:00:00Z", {}).status_code == 201
    assert open_ticket(client, unique("t"), {"customer": customer}).status_code == 422
    assert open_ticket(client, unique("t"), {"contract": contract}).status_code == 422
    ticket = unique("t")
    assert open_ticket(client, ticket, {"customer": customer, "plan": plan}).status_code == 201
    assert "contract" not in stored_opened(client, ticket)


def test_a_customer_without_contracts_is_422(client: httpx.Client) -> None:
    assert open_ticket(client, unique("t"), {"customer": unique("nobody")}).status_code == 422


def test_an_amendment_changes_plan_calendar_and_grant_from_its_instant(
    client: httpx.Client, plan: str
) -> None:
    upgraded = unique("plan")
    define_plan(client, unique("cal"), upgraded)
    customer = unique("cust")
    hours = [{"id": "hours", "unit": "hours", "amount": 10}]
    contract = contract_on(client, plan, customer, allowances=hours)
    more = [{"id": "hours", "unit": "hours", "amount": 30}]
    amended = {"plan": upgraded, "calendar": "24x7", "allowances": more}
    answer = post(client, contract, "contract_amended", "2026-05-01T00:00:00Z", amended)
    assert answer.status_code == 201, answer.text
    before, after = unique("t"), unique("t")
    assert (
        open_ticket(client, before, {"customer": customer}, "2026-04-01T00:00:00Z").status_code
        == 201
    )
    assert (
        open_ticket(client, after, {"customer": customer}, "2026-06-01T00:00:00Z").status_code
        == 201
    )
    assert "calendar" not in stored_opened(client, before)
    assert stored_opened(client, before)["plan"] == plan
    assert (stored_opened(client, after)["plan"], stored_opened(client, after)["calendar"]) == (
        upgraded,
        "24x7",
    )
    view = client.get(f"/v1/contracts/{contract}", params={"as_of": "2026-06-01T00:00:00Z"}).json()
    assert (view["plan"], view["term"]["allowances"][0]["granted"]) == (upgraded, 30)
    early = client.get(f"/v1/contracts/{contract}", params={"as_of": "2026-04-01T00:00:00Z"}).json()
    assert (early["plan"], early["term"]["allowances"][0]["granted"]) == (plan, 10)
    bad = post(client, contract, "contract_amended", "2026-06-01T00:00:00Z", {"plan": "nope"})
    assert bad.status_code == 422
