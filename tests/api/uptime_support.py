"""Helpers for the uptime API tests: plans with uptime terms, outages, contract facts.

Contract events are written straight into the event store (another process
writing the same database, as a second slaclock would): this branch has no
contract write endpoint, and the reads must work from the stored facts alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from domain.contract_events import (
    ContractEnded,
    ContractEvent,
    ContractStarted,
    CreditClaimed,
    contract_uuid,
)
from service.database import DatabaseConfig
from service.eventstore import EventStore
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


@contextmanager
def contract_store(database_url: str) -> Iterator[EventStore]:
    store = EventStore(DatabaseConfig.parse(database_url))
    try:
        yield store
    finally:
        store.close()


def _event(
    cls: type[ContractEvent], contract: str, version: int, at: str, data: dict[str, Any]
) -> ContractEvent:
    return cls(
        originator_id=contract_uuid(contract),
        originator_version=version,
        timestamp=datetime.now(UTC),
        contract_id=contract,
        event_id=f"{contract}-{version}",
        occurred_at=datetime.fromisoformat(at),
        data=data,
        fingerprint=f"fp-{version}",
    )


def start_contract(
    store: EventStore, contract: str, plan: str, at: str, customer: str = "acme"
) -> None:
    data = {"customer": customer, "plan": plan, "term": {"months": 12}}
    store.append([_event(ContractStarted, contract, 1, at, data)])


def claim(store: EventStore, contract: str, version: int, at: str, service: str, month: str) -> str:
    data = {"service": service, "month": month, "evidence": "https://status.example/shot.png"}
    event = _event(CreditClaimed, contract, version, at, data)
    store.append([event])
    return event.event_id


def end_contract(store: EventStore, contract: str, version: int, at: str) -> None:
    store.append([_event(ContractEnded, contract, version, at, {})])
