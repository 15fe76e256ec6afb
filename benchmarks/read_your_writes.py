"""Read-your-writes: how long after a write's answer a `min_position` read of it answers.

Run: .venv/bin/python -m benchmarks.read_your_writes [--rate 500] [--seconds 20]
     [--backends sqlite,postgres]

`slaclock serve` runs in its default configuration (projections in process).
Single `opened` events of new tickets are posted at a steady rate; as soon as a
write is answered, the client reads `GET /v1/tickets?min_position=<its
position>&limit=1`. It prints the p50, p99 and maximum of the read's latency
(the time from the write's answer to the read's), the achieved write rate, and
any non-2xx (goal: p99 ≤ 25 ms at 500 events/s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import httpx

from benchmarks.ingest import define_bench_plan
from benchmarks.serverproc import TOKEN, database, server


async def one(http: httpx.AsyncClient, ticket: str, latencies: list[float], bad: list[int]) -> None:
    body = {
        "event_id": "e1",
        "type": "opened",
        "occurred_at": "2026-03-02T09:15:00Z",
        "data": {"plan": "bench"},
    }
    written = await http.post(f"/v1/tickets/{ticket}/events", json=body)
    if written.status_code != 201:
        bad.append(written.status_code)
        return
    answered = time.perf_counter()
    position = written.json()["position"]
    read = await http.get("/v1/tickets", params={"min_position": position, "limit": 1})
    if read.status_code != 200:
        bad.append(read.status_code)
        return
    latencies.append(time.perf_counter() - answered)


async def paced(base: str, rate: int, seconds: int) -> dict[str, float]:
    latencies: list[float] = []
    bad: list[int] = []
    run = uuid.uuid4().hex[:6]
    limits = httpx.Limits(max_connections=64)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:
        tasks = []
        started = time.perf_counter()
        for n in range(rate * seconds):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(http, f"ryw{run}-{n}", latencies, bad)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rate": len(tasks) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "max_ms": ordered[-1] * 1000,
        "non_2xx": len(bad),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    header = ("backend", "writes/s", "p50 ms", "p99 ms", "max ms", "non2xx", "goal p99")
    print("".join(f"{h:>11}" for h in header))
    for n, kind in enumerate(args.backends.split(",")):
        with database(kind) as url, server(url, 8810 + n) as base:
            define_bench_plan(base)
            r = asyncio.run(paced(base, args.rate, args.seconds))
        row = (
            kind,
            f"{r['rate']:.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.1f}",
            f"{r['non_2xx']:.0f}",
            "25",
        )
        print("".join(f"{c:>11}" for c in row), flush=True)


if __name__ == "__main__":
    main()
