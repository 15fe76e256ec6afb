"""Read-your-writes: how long after a write's answer a `min_position` read of it answers.

Run: .venv/bin/python -m benchmarks.read_your_writes [--rate 500] [--seconds 20]
     [--backends sqlite,postgres] [--workers 32]

`slaclock serve` runs in its default configuration (projections in process).
``--workers`` clients, each on its own kept-alive connection, post single
`opened` events of new tickets on a shared schedule (``--rate`` writes a
second in all); as soon as a write is answered, its client reads
`GET /v1/tickets?min_position=<its position>&limit=1`. It prints the achieved
write rate, the p50, p99 and maximum of the read's latency (from the write's
answer to the read's), the write's own p99, any non-2xx (goal: read p99
≤ 25 ms at 500 events/s), and the CPU the server and its projection child
spent per write and its read, and on PostgreSQL the database server's
processes too (read from /proc, as benchmarks/cpu_budget.py does). The
latencies swing from run to run on a shared 2-core machine; the CPU per write
is the steadier figure to compare two versions by: the server's event loop is
one thread, and its tail grows as that loop nears a full core.

The clients speak HTTP/1.1 on asyncio streams: an httpx client in one process
costs about a millisecond of CPU per request, so at 1,000 requests a second it
saturated before the server did and measured its own queue (the first version
of this benchmark reported p99 of 50-150 s while the server sat idle).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvloop

from benchmarks.cpu_budget import cpu_seconds, processes
from benchmarks.ingest import define_bench_plan
from benchmarks.serverproc import TOKEN, database, server


@dataclass
class Results:
    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    bad: list[int] = field(default_factory=list)


class Connection:
    """One kept-alive HTTP/1.1 connection to the server (answers carry content-length)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {TOKEN}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        answer = await self.reader.readuntil(b"\r\n\r\n")
        lines = answer.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length")
        )
        return int(lines[0].split(" ")[1]), await self.reader.readexactly(length)


async def one(conn: Connection, ticket: str, results: Results) -> None:
    body = {"event_id": "e1", "type": "opened", "occurred_at": "2026-03-02T09:15:00Z"}
    payload = orjson.dumps({**body, "data": {"plan": "bench"}})
    sent = time.perf_counter()
    status, answer = await conn.request("POST", f"/v1/tickets/{ticket}/events", payload)
    answered = time.perf_counter()
    if status != 201:
        results.bad.append(status)
        return
    results.writes.append(answered - sent)
    position = orjson.loads(answer)["position"]
    status, _ = await conn.request("GET", f"/v1/tickets?min_position={position}&limit=1")
    if status != 200:
        results.bad.append(status)
        return
    results.reads.append(time.perf_counter() - answered)


async def worker(port: int, index: int, workers: int, plan: tuple[float, int, int, str]) -> Results:
    started, rate, total, run = plan
    results = Results()
    conn = await Connection.open(port)
    try:
        for n in range(index, total, workers):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await one(conn, f"ryw{run}-{n}", results)
    finally:
        conn.writer.close()
    return results


async def paced(port: int, rate: int, seconds: int, workers: int) -> dict[str, float]:
    plan = (time.perf_counter() + 0.5, rate, rate * seconds, uuid.uuid4().hex[:6])
    parts = await asyncio.gather(*(worker(port, i, workers, plan) for i in range(workers)))
    elapsed = time.perf_counter() - plan[0]
    reads = sorted(x for p in parts for x in p.reads)
    writes = sorted(x for p in parts for x in p.writes)
    return {
        "rate": len(writes) / elapsed,
        "writes": len(writes),
        "p50_ms": statistics.median(reads) * 1000,
        "p99_ms": reads[int(len(reads) * 0.99) - 1] * 1000,
        "max_ms": reads[-1] * 1000,
        "write_p99_ms": writes[int(len(writes) * 0.99) - 1] * 1000,
        "non_2xx": sum(len(p.bad) for p in parts),
    }


def run(clients: Coroutine[Any, Any, dict[str, float]], loop: str) -> dict[str, float]:
    """The clients on uvloop by default: they share the server's two cores, and
    asyncio's own loop spent more CPU per request than the server's uvloop does."""
    if loop == "uvloop":
        return uvloop.run(clients)
    return asyncio.run(clients)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--client-loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    header = ("backend", "writes/s", "p50 ms", "p99 ms", "max ms", "write p99", "non2xx")
    print(
        "".join(
            f"{h:>11}" for h in (*header, "server µs", "child µs", "db µs", "client µs", "goal")
        )
    )
    for n, kind in enumerate(args.backends.split(",")):
        port = 8810 + n
        with database(kind) as url, server(url, port) as base:
            define_bench_plan(base)
            found = processes(port)
            before = {name: cpu_seconds(found[name]) for name in ("server", "child", "postgres")}
            client_before = time.process_time()
            r = run(paced(port, args.rate, args.seconds, args.workers), args.client_loop)
            client = (time.process_time() - client_before) / r["writes"] * 1e6
            cpu = {k: (cpu_seconds(found[k]) - v) / r["writes"] * 1e6 for k, v in before.items()}
        row = (
            kind,
            f"{r['rate']:.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.1f}",
            f"{r['write_p99_ms']:.1f}",
            f"{r['non_2xx']:.0f}",
            f"{cpu['server']:.0f}",
            f"{cpu['child']:.0f}",
            f"{cpu['postgres']:.0f}" if kind == "postgres" else "",
            f"{client:.0f}",
            "p99 ≤ 25",
        )
        print("".join(f"{c:>11}" for c in row), flush=True)


if __name__ == "__main__":
    main()
