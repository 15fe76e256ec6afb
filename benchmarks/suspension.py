"""How soon a contract's suspension shows in GET /v1/breaches, with 10,000 open bound tickets.

Run:
    .venv/bin/python -m benchmarks.suspension [--tickets 10000] [--backend sqlite|postgres]

``slaclock serve`` runs as a separate process with its projection worker. The
plan is measured round the clock with a 1 h response target; the tickets,
all bound to one contract, were opened two days ago, so every one of them is
breached (time-driven, decided at query time). Then, straight into the event
store as the contract write path stores them:

1. a late ``sla_suspended`` dated before every opening: each ticket now
   opened suspended, so none may be breached; timed from the append to the
   first ``GET /v1/breaches?min_position=`` answer that lists none of them;
2. an ``sla_reinstated`` dated a day ago: all breach again, an hour later.

Baseline in the same run: the same measure for the 10,000 openings
themselves (written in one append): the time the projection takes to fold
that many ticket events, against which the suspension's re-evaluation of the
same tickets is a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from benchmarks.breaches import free_port
from benchmarks.serverproc import admin, database, server
from domain.contract_events import CONTRACT_CLASS_OF_TYPE, ContractEventType, contract_uuid
from domain.events import CLASS_OF_TYPE, EventType, fingerprint, ticket_uuid
from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore

NOW = datetime.now(UTC)
OPENED = NOW - timedelta(days=2)
CONTRACT = "K-bench"
PLAN = {
    "name": "Bench",
    "effective_from": "2020-01-01T00:00:00Z",
    "calendar": "24x7",
    "priorities": ["P1"],
    "default_priority": "P1",
    "metrics": {"response": {"targets": {"P1": {"hours": 1}}}},
}


def contract_event(version: int, kind: str, at: datetime, **data: Any) -> Any:
    return CONTRACT_CLASS_OF_TYPE[ContractEventType(kind)](
        originator_id=contract_uuid(CONTRACT),
        originator_version=version,
        timestamp=datetime.now(UTC),
        contract_id=CONTRACT,
        event_id=f"{CONTRACT}-{version}",
        occurred_at=at,
        data=data,
        fingerprint=f"bench-{version}",
    )


def openings(tickets: int) -> list[Any]:
    data = {"plan": "bench", "kind": "incident", "contract": CONTRACT}
    digest = fingerprint("opened", OPENED, data)
    return [
        CLASS_OF_TYPE[EventType.OPENED](
            originator_id=ticket_uuid(f"B-{i:06}"),
            originator_version=1,
            timestamp=datetime.now(UTC),
            ticket_id=f"B-{i:06}",
            event_id=f"B-{i:06}-1",
            occurred_at=OPENED + timedelta(microseconds=i),
            data=data,
            fingerprint=digest,
        )
        for i in range(tickets)
    ]


def breaches(client: httpx.Client, position: int) -> bool:
    """Whether the plan has breached clocks, answered once the projection has ``position``."""
    params = {"plan": "bench", "limit": 1, "min_position": position}
    response = client.get("/v1/breaches", params=params)
    response.raise_for_status()
    return bool(response.json()["items"])


def count(client: httpx.Client) -> int:
    found, params = 0, {"plan": "bench", "limit": 1000}
    while True:
        page = client.get("/v1/breaches", params=params).json()
        found += len(page["items"])
        if not page["next_cursor"]:
            return found
        params = {"plan": "bench", "cursor": page["next_cursor"], "limit": 1000}


def reflected(client: httpx.Client, store: EventStore, events: list[Any], want: int) -> float:
    """Seconds from appending ``events`` to a breaches answer that shows them (``want``
    breached clocks: the first page says whether any is, then all are counted, untimed)."""
    started = time.monotonic()
    position = store.append(events)[-1]
    while breaches(client, position) != (want > 0):
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    assert count(client) == want
    return elapsed


def run(backend: str, tickets: int) -> dict[str, Any]:
    os.environ.setdefault("SLA_MIN_POSITION_TIMEOUT_SECONDS", "60")
    with database(backend) as url, server(url, free_port()) as base, admin(base) as client:
        client.put("/v1/policies/bench", json=PLAN).raise_for_status()
        store = EventStore(DatabaseConfig.parse(url))
        began = OPENED - timedelta(days=30)
        store.append([contract_event(1, "contract_started", began, customer="c", plan="bench")])
        opened = reflected(client, store, openings(tickets), tickets)
        suspend_at = OPENED - timedelta(hours=1)
        suspended = reflected(
            client, store, [contract_event(2, "sla_suspended", suspend_at, reason="bench")], 0
        )
        reinstate_at = NOW - timedelta(days=1)
        reinstated = reflected(
            client, store, [contract_event(3, "sla_reinstated", reinstate_at)], tickets
        )
        store.close()
    return {
        "backend": backend,
        "tickets": tickets,
        "baseline_openings_seconds": round(opened, 3),
        "suspension_seconds": round(suspended, 3),
        "reinstatement_seconds": round(reinstated, 3),
        "suspension_vs_baseline": round(suspended / opened, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    print(json.dumps(run(args.backend, args.tickets), indent=2))


if __name__ == "__main__":
    main()
