"""A ticket bound to a suspended contract, read over real HTTP (issue 10, clock side).

The contract's events and the bound ticket are written straight into the event
store (the contract write endpoint is built elsewhere); plan and calendars go
through the API. Dublin is on UTC in early March 2026, open 09:00-17:30.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore
from tests.api.conftest import unique
from tests.api.fixtures import DUBLIN, define_plan
from tests.support.contracts import ContractWriter, bound_ticket

HIGH = {"priority": "high"}  # response 2h, relief 8h


@pytest.fixture
def store(module_database_url: str) -> EventStore:
    return EventStore(DatabaseConfig.parse(module_database_url))


def clocks(client: httpx.Client, ticket_id: str, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"/v1/tickets/{ticket_id}", params=params)
    assert response.status_code == 200, response.text
    return {clock["metric"]: clock for clock in response.json()["clocks"]}


def test_a_suspension_holds_the_clocks_of_the_contracts_tickets(
    client: httpx.Client, store: EventStore
) -> None:
    calendar, plan, contract = unique("dublin"), unique("std"), unique("C")
    define_plan(client, calendar, plan)
    writer = ContractWriter(store, contract)
    writer.event("contract_started", "2026-03-01T00:00:00Z", customer="acme", plan=plan)
    later = datetime.now(UTC) + timedelta(days=1)  # recorded after the as_known_at below
    suspended = writer.event("sla_suspended", "2026-03-02T10:00:00Z", later, reason="unpaid")
    reinstated = writer.event("sla_reinstated", "2026-03-02T12:00:00Z", later)
    writer.event("work_logged", "2026-03-02T11:00:00Z", allowance="hours", amount="1.5")
    bound, free = unique("T"), unique("T")
    opened = ("priority_changed", "2026-03-02T09:00:00Z", HIGH)
    bound_ticket(store, bound, plan, contract, "2026-03-02T09:00:00Z", opened)
    bound_ticket(store, free, plan, None, "2026-03-02T09:00:00Z", opened)

    response = clocks(client, bound, as_of="2026-03-02T12:30:00Z")["response"]
    assert (response["elapsed_seconds"], response["suspended_seconds"]) == (5400, 7200)
    assert (response["outcome"], response["due_at"]) == ("pending", "2026-03-02T13:00:00Z")
    unbound = clocks(client, free, as_of="2026-03-02T12:30:00Z")["response"]
    assert (unbound["breached_at"], unbound["suspended_seconds"]) == ("2026-03-02T11:00:00Z", 0)
    before = clocks(client, bound, as_of="2026-03-02T13:00:00Z", as_known_at=_iso(later, -60))
    assert before["response"]["suspended_seconds"] == 0

    segments = client.get(
        f"/v1/tickets/{bound}/clocks/response/segments", params={"as_of": "2026-03-02T13:00:00Z"}
    ).json()["segments"]
    assert [(s["kind"], s["start"], s["event_id"]) for s in segments] == [
        ("running", "2026-03-02T09:00:00Z", f"{bound}-e2"),  # the raise at the opening
        ("suspended", "2026-03-02T10:00:00Z", suspended),
        ("running", "2026-03-02T12:00:00Z", reinstated),
    ]


def test_the_contracts_calendar_replaces_the_plans(client: httpx.Client, store: EventStore) -> None:
    calendar, plan, contract, region = unique("dublin"), unique("std"), unique("C"), unique("ny")
    define_plan(client, calendar, plan)
    new_york = dict(DUBLIN, timezone="America/New_York", holidays=[])
    assert client.put(f"/v1/calendars/{region}", json=new_york).status_code == 201
    writer = ContractWriter(store, contract)
    writer.event("contract_started", "2026-03-01T00:00:00Z", customer="acme", plan=plan)
    writer.event("contract_amended", "2026-03-01T12:00:00Z", calendar=region)
    ticket = unique("T")
    bound_ticket(store, ticket, plan, contract, "2026-03-02T18:00:00Z")
    found = clocks(client, ticket, as_of="2026-03-02T19:00:00Z")["response"]
    # New York (EST) is open at 18:00Z; Dublin closed at 17:30Z.
    assert (found["calendar"], found["elapsed_seconds"]) == (region, 3600)


def _iso(instant: datetime, seconds: int) -> str:
    return (instant + timedelta(seconds=seconds)).isoformat()
