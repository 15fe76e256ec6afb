"""Times to 503 and back during a PostgreSQL outage, through a proxy that is cut.

Run: .venv/bin/python -m benchmarks.outage [--seconds 10,40]
Needs the PostgreSQL server of SLA_BENCH_POSTGRES_URL. A `slaclock serve` process
reaches the database through a loopback proxy (tests/support/proxy.py) that
refuses connections, then blackholes them, for each outage length. Prints, for
each: how long the first write, ticket read, projection read and /readyz took
to answer (all at once, right after the cut), the slowest answer later in the
outage, and how long after the database came back a write and /readyz succeed.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from benchmarks.serverproc import PG_SERVER, admin, database, server
from tests.api.fixtures import define_plan, opened
from tests.support.proxy import FaultyProxy, faulty_proxy
from tests.support.server import free_port

Request = Callable[[], httpx.Response]


def through(proxy: FaultyProxy, url: str) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{proxy.port}"))


def timed(request: Request) -> tuple[int, float]:
    started = time.monotonic()
    status = request().status_code
    return status, time.monotonic() - started


def at_once(requests: dict[str, Request]) -> dict[str, tuple[int, float]]:
    answers: dict[str, tuple[int, float]] = {}
    threads = [
        threading.Thread(target=lambda k=k, r=r: answers.__setitem__(k, timed(r)))
        for k, r in requests.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def until(request: Request, status: int, since: float) -> float:
    while request().status_code != status:
        time.sleep(0.02)
    return time.monotonic() - since


def outage(proxy: FaultyProxy, fault: str, seconds: float, kinds: dict[str, Request]) -> str:
    getattr(proxy, fault)()
    cut = time.monotonic()
    first = at_once(kinds)
    later: list[tuple[int, float]] = []
    while time.monotonic() - cut < seconds:
        later.append(timed(kinds["write"]))
        time.sleep(0.2)
    proxy.restore()
    restored = time.monotonic()
    write_back = until(kinds["write"], 201, restored)
    ready_back = until(kinds["readyz"], 200, restored)
    shown = ", ".join(f"{k} {s} in {t:.3f} s" for k, (s, t) in sorted(first.items()))
    return (
        f"{fault:9} {seconds:4.0f} s: first: {shown}; later: statuses "
        f"{sorted({s for s, _ in later})}, slowest {max(t for _, t in later):.3f} s; "
        f"write 201 {write_back:.3f} s and /readyz 200 {ready_back:.3f} s after the restore"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", default="10,40")
    lengths = [float(s) for s in parser.parse_args().seconds.split(",")]
    upstream = urlsplit(PG_SERVER)
    with (
        database("postgres") as url,
        faulty_proxy(upstream.hostname or "127.0.0.1", upstream.port or 5432) as proxy,
        server(through(proxy, url), free_port()) as base,
        admin(base) as http,
    ):
        plan = f"plan-{uuid.uuid4().hex[:8]}"
        define_plan(http, f"cal-{uuid.uuid4().hex[:8]}", plan)
        ticket = f"T-{uuid.uuid4().hex[:8]}"
        http.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan))
        kinds: dict[str, Request] = {
            "write": lambda: http.post(
                f"/v1/tickets/T-{uuid.uuid4().hex[:10]}/events", json=opened("o", plan)
            ),
            "ticket": lambda: http.get(f"/v1/tickets/{ticket}"),
            "projection": lambda: http.get("/v1/tickets"),
            "readyz": lambda: http.get("/readyz"),
        }
        for fault in ("refuse", "blackhole"):
            for seconds in lengths:
                time.sleep(1)
                print(outage(proxy, fault, seconds, kinds), flush=True)


if __name__ == "__main__":
    main()
