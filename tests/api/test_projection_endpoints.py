"""The projection endpoints over HTTP: own writes, time-driven breaches, compliance, 503s."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from projections.service import ProjectionService
from service.app import create_app
from service.settings import Settings
from tests.api.conftest import unique
from tests.api.fixtures import define_plan, event, opened
from tests.support.server import ADMIN_TOKEN, admin_client, serving

OPENED_AT = datetime(2026, 3, 16, 16, 30, tzinfo=UTC)  # a Monday, Dublin office hours


@dataclass
class MovableClock:
    at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or datetime.now(UTC)


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[tuple[FastAPI, httpx.Client]]:
    settings = Settings(
        database_url=module_database_url,
        admin_token=ADMIN_TOKEN,
        min_position_timeout_seconds=0.5,
    )
    application = create_app(settings)
    with serving(application) as url, admin_client(url) as http:
        yield application, http


@pytest.fixture
def client(app: tuple[FastAPI, httpx.Client]) -> httpx.Client:
    return app[1]


@pytest.fixture
def clock(app: tuple[FastAPI, httpx.Client]) -> Iterator[MovableClock]:
    service = app[0].state.projection_service
    assert isinstance(service, ProjectionService)
    moved = MovableClock()
    previous, service.now = service.now, moved
    yield moved
    service.now = previous


def _post(client: httpx.Client, ticket_id: str, body: dict[str, Any]) -> int:
    response = client.post(f"/v1/tickets/{ticket_id}/events", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def _plan(client: httpx.Client) -> str:
    plan = unique("plan")
    define_plan(client, unique("dublin"), plan)
    return plan


def test_a_client_reads_its_own_write(client: httpx.Client) -> None:
    plan, customer = _plan(client), unique("cust")
    ticket = unique("T")
    position = _post(client, ticket, opened("e1", plan, priority="high", customer=customer))
    got = client.get("/v1/tickets", params={"customer": customer, "min_position": position})
    assert got.status_code == 200, got.text
    [item] = got.json()["items"]
    assert (item["ticket_id"], item["plan"], item["priority"]) == (ticket, plan, "high")
    assert item["position"] == position
    assert {c["metric"] for c in item["clocks"]} == {"response", "relief", "resolution"}
    assert got.json()["next_cursor"] is None


def test_a_breach_shows_from_its_due_instant(client: httpx.Client, clock: MovableClock) -> None:
    plan, customer = _plan(client), unique("cust")
    at = OPENED_AT.isoformat()
    position = _post(
        client, unique("T"), opened("e1", plan, at, priority="critical", customer=customer)
    )
    query: dict[str, str | int] = {
        "customer": customer,
        "metric": "response",
        "min_position": position,
    }
    due = OPENED_AT + timedelta(minutes=30)  # critical: 30 minutes on 24x7
    clock.at = due - timedelta(seconds=1)
    assert client.get("/v1/breaches", params=query).json()["items"] == []
    risky = client.get("/v1/breaches", params=query | {"state": "at_risk"}).json()["items"]
    assert [i["at_risk"] for i in risky] == [True]
    clock.at = due
    [item] = client.get("/v1/breaches", params=query).json()["items"]
    assert item["outcome"] == "breached"
    assert item["breached_at"] == item["due_at"] == "2026-03-16T17:00:00Z"
    assert item["target_seconds"] == 1800


def test_compliance_per_plan_priority_and_metric(client: httpx.Client, clock: MovableClock) -> None:
    plan = _plan(client)
    first, second = unique("T"), unique("T")
    _post(client, first, opened("e1", plan, priority="critical"))
    _post(client, first, event("e2", "relieved", "2026-03-16T17:00:00Z"))  # in 30 min: met
    _post(client, second, opened("e1", plan, priority="critical"))
    last = _post(client, second, event("e2", "relieved", "2026-03-16T22:00:00Z"))  # 5.5 h: late
    clock.at = datetime(2026, 3, 17, tzinfo=UTC)
    got = client.get("/v1/reports/compliance", params={"plan": plan, "min_position": last})
    assert got.status_code == 200, got.text
    groups = {g["metric"]: g for g in got.json()["groups"]}
    relief = groups["relief"]
    assert (relief["priority"], relief["met"], relief["breached"], relief["pending"]) == (
        "critical",
        1,
        1,
        0,
    )
    assert (relief["attainment"], relief["objective"], relief["objective_met"]) == (
        0.5,
        0.95,
        False,
    )
    assert groups["resolution"]["pending"] == 2
    assert groups["resolution"]["attainment"] is None
    narrow: dict[str, str] = {
        "plan": plan,
        "from": "2026-03-17T00:00:00Z",
        "to": "2026-03-18T00:00:00Z",
    }
    assert client.get("/v1/reports/compliance", params=narrow).json()["groups"] == []
    wrong = client.get("/v1/reports/compliance", params=narrow | {"to": "2026-03-16T00:00:00Z"})
    assert wrong.status_code == 422


def test_pages_and_their_cursor(client: httpx.Client) -> None:
    plan, customer = _plan(client), unique("cust")
    for i in range(5):
        last = _post(client, f"{customer}-{i}", opened("e1", plan, customer=customer))
    params: dict[str, Any] = {"customer": customer, "limit": 2, "min_position": last}
    seen = []
    while True:
        page = client.get("/v1/tickets", params=params).json()
        seen += [item["ticket_id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [f"{customer}-{i}" for i in range(5)]
    bad = client.get("/v1/tickets", params={"cursor": "garbage"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"
    assert client.get("/v1/tickets", params={"limit": 1001}).status_code == 422
    assert client.get("/v1/breaches", params={"state": "late"}).status_code == 422


def test_a_position_no_write_returned_is_409_at_once(client: httpx.Client) -> None:
    # Nothing to wait for: the answer does not sit out min_position_timeout_seconds
    # and then ask for a retry (test_readiness covers a real position not reached).
    head = client.get("/v1/tickets", params={"limit": 1}).json()
    assert "items" in head
    for path in ("/v1/tickets", "/v1/breaches", "/v1/reports/compliance"):
        got = client.get(path, params={"min_position": 10**12})
        assert got.status_code == 409
        assert "retry-after" not in got.headers
        assert got.headers["content-type"].startswith("application/problem+json")
        assert got.json()["type"].endswith("/position-not-recorded")
        assert "1000000000000" in got.json()["detail"]


def test_the_projection_endpoints_need_a_token(client: httpx.Client) -> None:
    for path in ("/v1/tickets", "/v1/breaches", "/v1/reports/compliance"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 401


def test_readyz_and_metrics_report_projection_lag(client: httpx.Client) -> None:
    ready = client.get("/readyz").json()
    assert ready["checks"]["projections"]["running"] is True
    assert ready["checks"]["projections"]["lag_events"] >= 0
    metrics = client.get("/metrics").text
    assert 'slaclock_projection_lag_events{projection="tickets"}' in metrics
    assert 'slaclock_projection_lag_seconds{projection="tickets"}' in metrics
    counters = dict(
        line.split(" ") for line in metrics.splitlines() if line.startswith("slaclock_writer_")
    )
    assert set(counters) == {
        "slaclock_writer_groups_total",
        "slaclock_writer_events_total",
        "slaclock_writer_overlapped_groups_total",
        "slaclock_writer_held_writes_total",
    }
    assert int(counters["slaclock_writer_events_total"]) >= int(
        counters["slaclock_writer_groups_total"]
    )
