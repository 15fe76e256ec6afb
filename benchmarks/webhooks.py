"""10,000 clocks reaching their due instant in the same second: how soon are all their
``breached`` webhooks delivered to a local receiver?

A real `slaclock serve` (in-process projections) and a real `slaclock webhooks`
process; the receiver is the tests' asyncio HTTP server on loopback. 10,000 tickets
are opened so that their 24x7 response clocks are all due at the same whole second
T, well in the future; once every clock's schedule row is in, the benchmark waits
for T and times the arrivals. Two baselines, measured in the same run against the
same receiver, post 10,000 signed bodies at the same concurrency per destination
with no database behind them: a bare httpx client (kept-alive connections, Nagle
off: the dispatcher's client before), and the dispatcher's own sender
(service/webhooks/sender.py). They show what each HTTP client alone allows.

    .venv/bin/python -m benchmarks.webhooks [--database sqlite|postgres] [--clocks 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, func, select

from benchmarks.serverproc import admin, database, server
from domain.webhooks.signing import generate_secret, headers
from projections.webhooks.tables import deliveries, marks
from service.webhooks.sender import HttpSender
from tests.support.receiver import Receiver

LEAD_SECONDS = 75  # time to ingest and project every ticket before T
POLICY = {
    "name": "Webhook bench",
    "calendar": "24x7",
    "priorities": ["critical"],
    "default_priority": "critical",
    "metrics": {"response": {"targets": {"critical": {"minutes": 30}}}},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def open_tickets(base: str, clocks: int, due: datetime) -> None:
    run = uuid.uuid4().hex[:6]
    opened_at = iso(due - timedelta(minutes=30))
    with admin(base) as http:
        for start in range(0, clocks, 1000):
            events = [
                {
                    "ticket_id": f"w{run}-{n}",
                    "event_id": "o",
                    "type": "opened",
                    "occurred_at": opened_at,
                    "data": {"plan": "whbench"},
                }
                for n in range(start, min(clocks, start + 1000))
            ]
            response = http.post("/v1/events/batch", json={"events": events})
            assert response.status_code == 200, response.text


def wait_scheduled(url: str, clocks: int, due_us: int) -> float:
    """Seconds until every clock's due instant is in the schedule."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    started = time.monotonic()
    try:
        while True:
            with engine.connect() as conn:
                count = conn.execute(
                    select(func.count()).select_from(marks).where(marks.c.due_at_us == due_us)
                ).scalar()
            if count == clocks:
                return time.monotonic() - started
            time.sleep(0.2)
    finally:
        engine.dispose()


def wait_outbox(url: str, clocks: int, due_us: int) -> float:
    """Seconds after the due instant until every clock's outbox row is written."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        while True:
            with engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(deliveries)).scalar()
            if count == clocks:
                return time.time() - due_us / 1e6
            time.sleep(0.05)
    finally:
        engine.dispose()


def webhooks_process(url: str, concurrency: int) -> subprocess.Popen[bytes]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SLA_BENCH_")}
    env = dict(
        inherited,
        SLA_DATABASE_URL=url,
        SLA_WEBHOOK_CONCURRENCY=str(concurrency),
        SLA_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen([sys.executable, "-m", "service.cli.main", "webhooks"], env=env)


def deliver(kind: str, clocks: int, concurrency: int) -> dict[str, float]:
    receiver = Receiver(free_port())
    receiver.start()
    try:
        with database(kind) as url, server(url, free_port()) as base:
            with admin(base) as http:
                assert http.put("/v1/policies/whbench", json=POLICY).status_code in (200, 201)
                body = {
                    "url": receiver.url,
                    "kinds": ["breached"],
                    "filters": {"plan": ["whbench"]},
                }
                assert http.post("/v1/webhooks", json=body).status_code == 201
            process = webhooks_process(url, concurrency)
            try:
                due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=LEAD_SECONDS)
                open_tickets(base, clocks, due)
                ready = wait_scheduled(url, clocks, int(due.timestamp()) * 1_000_000)
                if datetime.now(UTC) >= due:
                    raise RuntimeError("the clocks were not all scheduled before their due instant")
                time.sleep(max(0.0, due.timestamp() - time.time()))
                written = wait_outbox(url, clocks, int(due.timestamp()) * 1_000_000)
                while len(receiver.received) < clocks:
                    time.sleep(0.05)
                    if time.time() > due.timestamp() + 900:
                        raise RuntimeError(f"only {len(receiver.received)} arrived in 900 s")
            finally:
                process.terminate()
                process.wait(60)
        arrivals = sorted(r.at - due.timestamp() for r in receiver.received)
        return {
            "scheduled_in": ready,
            "written": written,
            "first": arrivals[0],
            "last": arrivals[-1],
        }
    finally:
        receiver.close()


BODY = orjson.dumps({"type": "breached", "data": {"ticket_id": "x" * 16}})


def httpx_transport() -> httpx.AsyncHTTPTransport:
    """As the dispatcher had it: kept alive, and Nagle off (httpx writes head and body
    apart, and with Nagle the body waits 40 ms for the receiver's delayed ACK)."""
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=256),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )


async def _httpx_all(url: str, clocks: int, concurrency: int) -> None:
    secret = generate_secret()
    slots = asyncio.Semaphore(concurrency)

    async def post(client: httpx.AsyncClient, n: int) -> None:
        async with slots:
            sent = headers(secret, f"msg_{n}", int(time.time()), BODY)
            response = await client.post(url, content=BODY, headers=sent)
            assert response.status_code == 204

    async with httpx.AsyncClient(transport=httpx_transport()) as client:
        await asyncio.gather(*(post(client, n) for n in range(clocks)))


async def _sender_all(url: str, clocks: int, concurrency: int) -> None:
    secret = generate_secret()
    slots = asyncio.Semaphore(concurrency)
    sender = HttpSender(keep_alive=concurrency)

    async def post(n: int) -> None:
        async with slots:
            sent = headers(secret, f"msg_{n}", int(time.time()), BODY)
            assert await sender.post(url, BODY, sent) == 204

    try:
        await asyncio.gather(*(post(n) for n in range(clocks)))
    finally:
        await sender.aclose()


Poster = Callable[[str, int, int], Coroutine[Any, Any, None]]


def baseline(post_all: Poster, clocks: int, concurrency: int) -> float:
    receiver = Receiver(free_port())
    receiver.start()
    try:
        started = time.perf_counter()
        asyncio.run(post_all(receiver.url, clocks, concurrency))
        assert len(receiver.received) == clocks
        return time.perf_counter() - started
    finally:
        receiver.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clocks", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16, help="SLA_WEBHOOK_CONCURRENCY")
    args = parser.parse_args()
    bare = baseline(_httpx_all, args.clocks, args.concurrency)
    ours = baseline(_sender_all, args.clocks, args.concurrency)
    figures = deliver(args.database, args.clocks, args.concurrency)
    print(f"{args.database}: {args.clocks} clocks due at T, concurrency {args.concurrency}")
    print(f"  all scheduled {figures['scheduled_in']:.1f} s after ingest (before T)")
    print(f"  every outbox row written by T+{figures['written']:.2f} s (the scheduler)")
    print(f"  first delivery at T+{figures['first']:.2f} s, last at T+{figures['last']:.2f} s")
    print(f"  baseline: bare httpx posts of {args.clocks} bodies: {bare:.2f} s")
    print(f"  the dispatcher's sender alone, same posts: {ours:.2f} s ({bare / ours:.1f}x faster)")
    print(f"  ratio last/httpx baseline: {figures['last'] / bare:.2f}")
    print(f"  ratio last/sender alone: {figures['last'] / ours:.2f}")


if __name__ == "__main__":
    main()
