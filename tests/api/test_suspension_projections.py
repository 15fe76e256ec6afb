"""A Konneqt-style ticket suspended and reinstated, seen through the projection endpoints.

The contract's events and the bound ticket go straight into the event store
(the contract write endpoint is built elsewhere); the plan goes through the
API; the projection worker follows the log as in production. Dublin is on UTC
in March 2026 before the 29th, open 09:00-17:30; ``high`` response is 2 h.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from projections.service import ProjectionService
from service.app import create_app
from service.settings import Settings
from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore
from tests.api.conftest import unique
from tests.api.fixtures import define_plan
from tests.api.test_projection_endpoints import MovableClock
from tests.support.contracts import ContractWriter, bound_ticket
from tests.support.server import ADMIN_TOKEN, admin_client, serving


@pytest.fixture(scope="module")
def served(module_database_url: str) -> Iterator[tuple[FastAPI, httpx.Client]]:
    settings = Settings(
        database_url=module_database_url, admin_token=ADMIN_TOKEN, min_position_timeout_seconds=10
    )
    application = create_app(settings)
    with serving(application) as url, admin_client(url) as http:
        yield application, http


def _now(application: FastAPI, instant: str) -> None:
    service = application.state.projection_service
    assert isinstance(service, ProjectionService)
    service.now = MovableClock(datetime.fromisoformat(instant).astimezone(UTC))


def _breached(client: httpx.Client, plan: str, position: int) -> list[dict[str, Any]]:
    params: dict[str, str | int] = {"plan": plan, "min_position": position}
    response = client.get("/v1/breaches", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_suspended_ticket_leaves_the_breaches_and_comes_back_after_reinstatement(
    served: tuple[FastAPI, httpx.Client], module_database_url: str
) -> None:
    application, client = served
    plan, contract, customer, ticket = unique("std"), unique("K"), unique("cust"), unique("T")
    define_plan(client, unique("dublin"), plan)
    store = EventStore(DatabaseConfig.parse(module_database_url))
    writer = ContractWriter(store, contract)
    writer.event("contract_started", "2026-03-01T00:00:00Z", customer=customer, plan=plan)
    bound_ticket(
        store,
        ticket,
        plan,
        contract,
        "2026-03-16T09:00:00Z",
        ("priority_changed", "2026-03-16T09:00:00Z", {"priority": "high"}),
    )
    position = store.max_position()
    _now(application, "2026-03-16T12:00:00+00:00")
    breached = _breached(client, plan, position)
    assert [(b["metric"], b["breached_at"]) for b in breached] == [
        ("response", "2026-03-16T11:00:00Z")
    ]

    writer.event("sla_suspended", "2026-03-16T10:00:00Z", reason="unpaid invoice")
    assert _breached(client, plan, store.max_position()) == []
    report = client.get("/v1/reports/compliance", params={"plan": plan, "metric": "response"})
    [group] = report.json()["groups"]
    assert (group["pending"], group["suspended"]) == (1, 1)

    writer.event("sla_reinstated", "2026-03-16T11:30:00Z")
    _now(application, "2026-03-16T12:29:00+00:00")
    assert _breached(client, plan, store.max_position()) == []
    _now(application, "2026-03-16T12:31:00+00:00")
    [again] = _breached(client, plan, store.max_position())
    assert (again["breached_at"], again["suspended_seconds"]) == ("2026-03-16T12:30:00Z", 5400)
    store.close()
