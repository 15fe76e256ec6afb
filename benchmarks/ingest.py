"""Ingest over real HTTP: single events at concurrency 32 against /healthz, and batches.

Run: .venv/bin/python -m benchmarks.ingest [--seconds 10] [--backends sqlite,postgres]
Needs wrk (Debian package `wrk`). Prints req/s, the ratio to /healthz, and batch events/s.

``--growth N`` instead measures batch ingest alone, N rounds of 100,000 events
into one growing database, to show how the rate falls as the event table grows.
"""

from __future__ import annotations

import argparse
import queue
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson

from benchmarks.serverproc import TOKEN, admin, database, server

CALENDAR = {
    "timezone": "Europe/London",
    "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "GB", "subdivision": "ENG"},
}
POLICY = {
    "name": "Bench",
    "calendar": "bench-cal",
    "priorities": ["P1", "P2"],
    "default_priority": "P2",
    "metrics": {
        "response": {"targets": {"P1": {"hours": 4}, "P2": {"working_days": 1}}},
        "resolution": {"targets": {"P1": {"working_days": 2}, "P2": {"working_days": 5}}},
    },
}

LUA = """
local counter = 0

function setup(thread) thread:set("prefix", "w" .. math.random(1, 1000000000)) end
function init(args) counter = 0 end
request = function()
  counter = counter + 1
  local body = '{"event_id":"e1","type":"opened","occurred_at":"2026-03-02T09:15:00Z",' ..
               '"data":{"plan":"bench","customer":"acme"}}'
  return wrk.format("POST", "/v1/tickets/" .. prefix .. "-" .. counter .. "/events",
                    {["Content-Type"] = "application/json",
                     ["Authorization"] = "Bearer %s"}, body)
end
"""


def wrk(url: str, seconds: int, script: Path | None = None) -> tuple[float, int]:
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, int(bad.group(1)) if bad else 0


def batch_rate(
    base: str, batches: int, size: int = 1000, clients: int = 4, customer: str | None = None
) -> float:
    """Events/s of ``batches`` batches of ``size`` new tickets, ``clients`` at a time
    (each naming ``customer`` if given).

    Bodies are encoded before the clock starts, as a load generator sends
    prepared requests: the client shares the server's two cores, and its JSON
    encoding is not what is measured.
    """
    run = uuid.uuid4().hex[:6]
    data = {"plan": "bench"} if customer is None else {"plan": "bench", "customer": customer}
    bodies = [
        orjson.dumps(
            {
                "events": [
                    {
                        "ticket_id": f"b{run}-{n}-{i}",
                        "event_id": "e1",
                        "type": "opened",
                        "occurred_at": "2026-03-02T09:15:00Z",
                        "data": data,
                    }
                    for i in range(size)
                ]
            }
        )
        for n in range(batches)
    ]
    headers = {"Content-Type": "application/json"}
    # One connection per client, opened before the clock starts: an httpx.Client
    # costs about 30 ms of CPU to build (its TLS context), on the server's two cores.
    connections: queue.SimpleQueue[httpx.Client] = queue.SimpleQueue()
    for _ in range(clients):
        connections.put(admin(base))

    def post(body: bytes) -> None:
        http = connections.get()
        try:
            response = http.post("/v1/events/batch", content=body, headers=headers)
        finally:
            connections.put(http)
        assert response.status_code == 200
        results = orjson.loads(response.content)["results"]
        assert all(r["status"] == 201 for r in results)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, bodies))
    elapsed = time.perf_counter() - started
    while not connections.empty():
        connections.get().close()
    return batches * size / elapsed


def define_bench_plan(base: str) -> None:
    """The calendar and plan every ingest benchmark's events name."""
    with admin(base) as http:
        assert http.put("/v1/calendars/bench-cal", json=CALENDAR).status_code in (200, 201)
        assert http.put("/v1/policies/bench", json=POLICY).status_code in (200, 201)


def single_event_rates(base: str, seconds: int) -> tuple[float, float, int]:
    """wrk against /healthz, then single new tickets' opened events: both rates, non-2xx."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "ingest.lua"
        script.write_text(LUA % TOKEN)
        health, _ = wrk(f"{base}/healthz", seconds)
        single, bad = wrk(base, seconds, script)
    return health, single, bad


def measure(kind: str, seconds: int, port: int) -> dict[str, float]:
    with database(kind) as url, server(url, port, projections=False) as base:
        define_bench_plan(base)
        health, ingest, bad = single_event_rates(base, seconds)
        batch = batch_rate(base, batches=60)
    return {"healthz": health, "ingest": ingest, "non_2xx": bad, "batch": batch}


def growth(kind: str, rounds: int, port: int) -> list[float]:
    """Batch events/s of each successive 100,000 events into one database."""
    with database(kind) as url, server(url, port, projections=False) as base:
        define_bench_plan(base)
        return [batch_rate(base, batches=100) for _ in range(rounds)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--growth", type=int, default=0, help="rounds of 100,000 batch events")
    args = parser.parse_args()
    if args.growth:
        for n, kind in enumerate(args.backends.split(",")):
            rates = growth(kind, args.growth, 8750 + n)
            print(kind, " ".join(f"{rate:,.0f}" for rate in rates))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    goals = {"sqlite": (0.5, 15_000), "postgres": (0.4, 10_000)}
    header = ("backend", "healthz/s", "ingest/s", "ratio", "goal", "non2xx", "batch ev/s", "goal")
    print("".join(f"{h:>12}" for h in header))
    for n, kind in enumerate(args.backends.split(",")):
        r = measure(kind, args.seconds, 8700 + n)
        ratio_goal, batch_goal = goals[kind]
        row = (
            kind,
            f"{r['healthz']:.0f}",
            f"{r['ingest']:.0f}",
            f"{r['ingest'] / r['healthz']:.2f}",
            ratio_goal,
            f"{r['non_2xx']:.0f}",
            f"{r['batch']:.0f}",
            batch_goal,
        )
        print("".join(f"{c:>12}" for c in row))


if __name__ == "__main__":
    main()
