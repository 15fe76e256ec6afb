"""Retry storms: re-posting already-stored events against posting them the first time.

Run: .venv/bin/python -m benchmarks.retries [--events 100000] [--backends sqlite,postgres]

The server runs in its default configuration (projections in process). The log
is tickets of three events each (opened, responded, resolved) in batches of
1,000, posted by 4 clients. Then the same bodies are posted again, twice: at
once (the writer's ticket heads are warm) and after a restart of the server on
the same database (cold: every ticket's history must be read). Every retry's
answer must equal the first answer but for its status (200, not 201).
"""

from __future__ import annotations

import argparse
import queue
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson

from benchmarks.ingest import define_bench_plan
from benchmarks.serverproc import admin, database, server

BATCH = 999  # whole tickets: the clients post batches concurrently
CLIENTS = 4
STEPS = (("opened", "09:15"), ("responded", "10:00"), ("resolved", "11:30"))


def bodies(events: int) -> list[bytes]:
    run = uuid.uuid4().hex[:6]
    items: list[dict[str, Any]] = []
    for n in range(events // len(STEPS)):
        for kind, at in STEPS:
            item: dict[str, Any] = {
                "ticket_id": f"r{run}-{n}",
                "event_id": kind,
                "type": kind,
                "occurred_at": f"2026-03-02T{at}:00Z",
            }
            if kind == "opened":
                item["data"] = {"plan": "bench", "priority": "P1"}
            items.append(item)
    return [orjson.dumps({"events": items[i : i + BATCH]}) for i in range(0, len(items), BATCH)]


def post_all(base: str, payloads: list[bytes]) -> tuple[float, list[list[dict[str, Any]]]]:
    """Events/s over all payloads, and each batch's results, in order."""
    connections: queue.SimpleQueue[httpx.Client] = queue.SimpleQueue()
    for _ in range(CLIENTS):
        connections.put(admin(base))

    def post(body: bytes) -> list[dict[str, Any]]:
        http = connections.get()
        try:
            response = http.post(
                "/v1/events/batch", content=body, headers={"Content-Type": "application/json"}
            )
        finally:
            connections.put(http)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = orjson.loads(response.content)["results"]
        return results

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(post, payloads))
    elapsed = time.perf_counter() - started
    while not connections.empty():
        connections.get().close()
    count = sum(len(a) for a in answers)
    return count / elapsed, answers


def same_but_status(first: list[list[dict[str, Any]]], again: list[list[dict[str, Any]]]) -> bool:
    def strip(batches: list[list[dict[str, Any]]]) -> list[Any]:
        return [
            {k: v for k, v in result.items() if k != "status"}
            for batch in batches
            for result in batch
        ]

    statuses_ok = all(r["status"] == 201 for b in first for r in b) and all(
        r["status"] == 200 for b in again for r in b
    )
    return statuses_ok and strip(first) == strip(again)


def measure(kind: str, events: int, port: int) -> dict[str, float]:
    payloads = bodies(events)
    with database(kind) as url:
        with server(url, port) as base:
            define_bench_plan(base)
            first_rate, first = post_all(base, payloads)
            warm_rate, warm = post_all(base, payloads)
        with server(url, port) as base:
            cold_rate, cold = post_all(base, payloads)
    assert same_but_status(first, warm), "a warm retry answered differently"
    assert same_but_status(first, cold), "a cold retry answered differently"
    return {"first": first_rate, "warm": warm_rate, "cold": cold_rate}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    header = ("backend", "first ev/s", "warm ev/s", "ratio", "cold ev/s", "ratio", "goal")
    print("".join(f"{h:>12}" for h in header))
    for n, kind in enumerate(args.backends.split(",")):
        r = measure(kind, args.events, 8790 + n)
        row = (
            kind,
            f"{r['first']:.0f}",
            f"{r['warm']:.0f}",
            f"{r['warm'] / r['first']:.2f}",
            f"{r['cold']:.0f}",
            f"{r['cold'] / r['first']:.2f}",
            "0.8",
        )
        print("".join(f"{c:>12}" for c in row), flush=True)


if __name__ == "__main__":
    main()
