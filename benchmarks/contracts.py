"""Contracts over real HTTP: tickets opened by customer, and a read of a busy contract.

Run: .venv/bin/python -m benchmarks.contracts [--backends sqlite,postgres] [--entries 10000]

1. Batch ingest of ``opened`` events naming only a customer (bound to the
   customer's contract by the writer) against events naming a plan, in the same
   run, alternating rounds so that neither gets a warmer database (goal: the
   customer-only rate at least 0.8x the plan-named rate).
2. ``GET /v1/contracts/{id}`` of a contract with ``--entries`` work_logged
   events, its latencies against a one-event ticket read in the same run (goal:
   p99 at most 50 ms).
"""

from __future__ import annotations

import argparse
import queue
import socket
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson

from benchmarks.ingest import CALENDAR, POLICY
from benchmarks.serverproc import admin, database, server

CUSTOMERS = 100
TERM = {"start": "2026-01-01", "months": 12, "timezone": "Europe/London"}
HEADERS = {"Content-Type": "application/json"}


def setup(http: httpx.Client) -> None:
    assert http.put("/v1/calendars/bench-cal", json=CALENDAR).status_code in (200, 201)
    policy = {**POLICY, "allowances": [{"id": "hours", "unit": "hours", "amount": 1_000_000}]}
    assert http.put("/v1/policies/bench", json=policy).status_code in (200, 201)
    for n in range(CUSTOMERS):
        data = {"customer": f"cust-{n}", "plan": "bench", "term": TERM}
        body = {"event_id": "s", "type": "contract_started",
                "occurred_at": "2026-01-01T00:00:00Z", "data": data}  # fmt: skip
        answer = http.post(f"/v1/contracts/bench-{n}/events", json=body)
        assert answer.status_code in (200, 201), answer.text


def bodies(batches: int, data: Callable[[int], dict[str, Any]], size: int = 1000) -> list[bytes]:
    run = uuid.uuid4().hex[:6]
    return [
        orjson.dumps(
            {
                "events": [
                    {
                        "ticket_id": f"b{run}-{n}-{i}",
                        "event_id": "e1",
                        "type": "opened",
                        "occurred_at": "2026-03-02T09:15:00Z",
                        "data": data(i),
                    }
                    for i in range(size)
                ]
            }
        )
        for n in range(batches)
    ]


def batch_rate(base: str, prepared: list[bytes], clients: int = 4) -> float:
    """Events/s of the prepared batches, ``clients`` at a time (as benchmarks.ingest)."""
    connections: queue.SimpleQueue[httpx.Client] = queue.SimpleQueue()
    for _ in range(clients):
        connections.put(admin(base))

    def post(body: bytes) -> int:
        http = connections.get()
        try:
            response = http.post("/v1/events/batch", content=body, headers=HEADERS)
        finally:
            connections.put(http)
        results = orjson.loads(response.content)["results"]
        assert all(r["status"] == 201 for r in results), results[:3]
        return len(results)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        events = sum(pool.map(post, prepared))
    elapsed = time.perf_counter() - started
    while not connections.empty():
        connections.get().close()
    return events / elapsed


def ingest(base: str, rounds: int, batches: int) -> tuple[float, float]:
    """Mean events/s naming a plan and naming only a customer, rounds alternating."""
    by_plan, by_customer = [], []
    for _ in range(rounds):
        by_plan.append(batch_rate(base, bodies(batches, lambda i: {"plan": "bench"})))
        customer = bodies(batches, lambda i: {"customer": f"cust-{i % CUSTOMERS}"})
        by_customer.append(batch_rate(base, customer))
    return statistics.mean(by_plan), statistics.mean(by_customer)


def busy_contract(http: httpx.Client, entries: int) -> str:
    contract = "busy"
    data = {"customer": "busy-customer", "plan": "bench", "term": TERM}
    body = {"event_id": "s", "type": "contract_started",
            "occurred_at": "2026-01-01T00:00:00Z", "data": data}  # fmt: skip
    assert http.post(f"/v1/contracts/{contract}/events", json=body).status_code == 201
    for n in range(entries):
        at = f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z"
        body = {"event_id": f"w{n}", "type": "work_logged", "occurred_at": at,
                "data": {"allowance": "hours", "amount": "1.25"}}  # fmt: skip
        answer = http.post(f"/v1/contracts/{contract}/events", json=body)
        assert answer.status_code == 201, answer.text
    return contract


def latencies(http: httpx.Client, path: str, reads: int) -> list[float]:
    found = []
    for _ in range(reads):
        started = time.perf_counter()
        answer = http.get(path, params={"as_of": "2026-12-31T00:00:00Z"})
        found.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text
    return sorted(found)


def p(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def measure(kind: str, port: int, entries: int, rounds: int) -> dict[str, float]:
    with database(kind) as url, server(url, port, projections=False) as base:
        with admin(base) as http:
            setup(http)
        plan_rate, customer_rate = ingest(base, rounds, batches=20)
        with admin(base) as http:
            contract = busy_contract(http, entries)
            ticket = {"event_id": "o", "type": "opened", "occurred_at": "2026-03-02T09:15:00Z",
                      "data": {"plan": "bench"}}  # fmt: skip
            assert http.post("/v1/tickets/read-1/events", json=ticket).status_code == 201
            latencies(http, f"/v1/contracts/{contract}", 20)  # warm up
            reads = latencies(http, f"/v1/contracts/{contract}", 200)
            baseline = latencies(http, "/v1/tickets/read-1", 200)
    return {
        "plan": plan_rate,
        "customer": customer_rate,
        "read_p50": p(reads, 0.5),
        "read_p99": p(reads, 0.99),
        "ticket_p99": p(baseline, 0.99),
    }


def free_port() -> int:
    # Other servers may run on this machine: a fixed port could reach one of them.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    header = ("backend", "plan ev/s", "cust ev/s", "ratio", "read p50", "read p99", "ticket p99")
    print("".join(f"{h:>12}" for h in header))
    for kind in args.backends.split(","):
        r = measure(kind, free_port(), args.entries, args.rounds)
        row = (
            kind,
            f"{r['plan']:.0f}",
            f"{r['customer']:.0f}",
            f"{r['customer'] / r['plan']:.2f}",
            f"{r['read_p50']:.1f}ms",
            f"{r['read_p99']:.1f}ms",
            f"{r['ticket_p99']:.1f}ms",
        )
        print("".join(f"{c:>12}" for c in row))


if __name__ == "__main__":
    main()
