"""Uptime reads with 100,000 outages over 10 years, and outage-event ingest.

Run:
    .venv/bin/python -m benchmarks.uptime [--outages 100000] [--requests 200]
        [--backend sqlite|postgres] [--ingest-seconds 10]

The outages (200,000 events, 2016-2025, one service) are written straight into
the event store, then ``slaclock serve`` runs as a separate process. Figures:
- the first uptime read (the outage index follows the log from position 0);
- ``GET /v1/services/{id}/uptime`` for a 12-month range, p50 / p99 over
  keep-alive HTTP, ``--requests`` times over random 12-month windows, against
  ``GET /healthz`` asked the same way in the same run (the baseline);
- in process, the same 12 months from the index against replaying the
  service's 200,000 events for each read (what the index avoids);
- with ``--ingest-seconds``: wrk at concurrency 32, ``/healthz`` against
  ``outage_started`` events (one new service per request), the ratio the
  README's single-event ingest goals are stated in (>= 0.5 SQLite, 0.4 PostgreSQL),
  with ticket ``opened`` events asked the same way in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.breaches import free_port, percentiles, timed
from benchmarks.ingest import CALENDAR as TICKET_CALENDAR
from benchmarks.ingest import LUA as TICKET_LUA
from benchmarks.ingest import POLICY as TICKET_POLICY
from benchmarks.ingest import wrk
from benchmarks.serverproc import TOKEN, admin, database, server
from domain.outages import outages_of
from domain.service_events import OutageEnded, OutageStarted, ServiceEvent, service_uuid
from domain.uptime import Month, OutageTimeline, evaluate_month, months_between
from domain.uptime_terms import parse_uptime_terms
from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore

SERVICE = "bench-svc"
START = datetime(2016, 1, 1, tzinfo=UTC)
TERMS = {
    "services": [SERVICE],
    "timezone": "Europe/London",
    "credits": [{"below": 0.999, "days": 7}, {"below": 0.99, "days": 14}],
    "claim_within_days": 30,
}
POLICY = {
    "name": "Bench uptime",
    "calendar": "24x7",
    "priorities": ["P1"],
    "default_priority": "P1",
    "metrics": {"response": {"targets": {"P1": {"hours": 4}}}},
    "uptime": TERMS,
}
LUA = """
local counter = 0
function setup(thread) thread:set("prefix", "w" .. math.random(1, 1000000000)) end
function init(args) counter = 0 end
request = function()
  counter = counter + 1
  local body = '{"event_id":"s1","type":"outage_started","occurred_at":"2026-03-02T09:15:00Z"}'
  return wrk.format("POST", "/v1/services/" .. prefix .. "-" .. counter .. "/events",
                    {["Content-Type"] = "application/json",
                     ["Authorization"] = "Bearer %s"}, body)
end
"""


def outage_events(count: int) -> list[ServiceEvent]:
    """``count`` outages of 1-20 minutes, spread evenly over ten years."""
    rng = random.Random(11)
    gap = timedelta(days=3652) / count
    events: list[ServiceEvent] = []
    recorded = datetime.now(UTC)
    for index in range(count):
        start = START + gap * index + timedelta(seconds=rng.randint(0, 60))
        end = start + timedelta(seconds=rng.randint(60, 1200))
        for cls, at in ((OutageStarted, start), (OutageEnded, end)):
            version = len(events) + 1
            events.append(
                cls(
                    originator_id=service_uuid(SERVICE),
                    originator_version=version,
                    timestamp=recorded,
                    service_id=SERVICE,
                    event_id=f"e{version}",
                    occurred_at=at,
                    data={},
                    fingerprint=f"f{version}",
                )
            )
    return events


def fill(url: str, events: list[ServiceEvent]) -> float:
    started = time.monotonic()
    store = EventStore(DatabaseConfig.parse(url))
    for first in range(0, len(events), 10_000):
        store.append(events[first : first + 10_000])
    store.close()
    return time.monotonic() - started


def windows(rng: random.Random) -> tuple[str, str]:
    first = Month(2016 + rng.randint(0, 8), rng.randint(1, 12))
    last = months_between(first, Month(first.year + 1, first.month))[-2]
    return first.label, last.label


def in_process(events: list[ServiceEvent], requests: int) -> dict[str, Any]:
    terms = parse_uptime_terms(TERMS)
    timeline = OutageTimeline(outages_of(events))
    year = months_between(Month(2020, 1), Month(2020, 12))
    at = datetime.now(UTC)

    def from_index(line: OutageTimeline = timeline) -> None:
        for month in year:
            evaluate_month(
                line, month, zone=terms.zone, tiers=terms.credits, claim_within_days=30, at=at
            )

    indexed = timed(from_index, requests)
    replayed = timed(lambda: from_index(OutageTimeline(outages_of(events))), max(3, requests // 20))
    return {
        "index_12_months": percentiles(indexed),
        "replay_then_12_months": percentiles(replayed),
        "replay_over_index_p50": round(
            percentiles(replayed)["p50_ms"] / max(percentiles(indexed)["p50_ms"], 0.001), 1
        ),
    }


def over_http(base: str, requests: int) -> dict[str, Any]:
    rng = random.Random(5)
    report: dict[str, Any] = {}
    with admin(base) as client:
        assert client.put("/v1/policies/bench-uptime", json=POLICY).status_code in (200, 201)
        path = f"/v1/services/{SERVICE}/uptime"
        started = time.perf_counter()
        first = client.get(path, params={"from": "2020-01", "to": "2020-12"})
        report["first_read_seconds"] = round(time.perf_counter() - started, 2)
        assert first.status_code == 200, first.text

        def ask() -> None:
            low, high = windows(rng)
            response = client.get(path, params={"from": low, "to": high})
            assert response.status_code == 200, response.text

        uptime = timed(ask, requests)
        health = timed(lambda: client.get("/healthz"), requests)
    report["uptime_12_months"] = percentiles(uptime)
    report["healthz"] = percentiles(health)
    report["uptime_over_healthz_p99"] = round(
        report["uptime_12_months"]["p99_ms"] / report["healthz"]["p99_ms"], 1
    )
    return report


def ingest(base: str, seconds: int) -> dict[str, float]:
    """wrk: /healthz, then ticket ``opened`` events, then ``outage_started`` events."""
    with admin(base) as http:
        assert http.put("/v1/calendars/bench-cal", json=TICKET_CALENDAR).status_code in (200, 201)
        assert http.put("/v1/policies/bench", json=TICKET_POLICY).status_code in (200, 201)
    with tempfile.TemporaryDirectory() as folder:
        tickets_lua, outages_lua = Path(folder) / "tickets.lua", Path(folder) / "outages.lua"
        tickets_lua.write_text(TICKET_LUA % TOKEN)
        outages_lua.write_text(LUA % TOKEN)
        health, _ = wrk(f"{base}/healthz", seconds)
        tickets, _ = wrk(base, seconds, tickets_lua)
        outages, bad = wrk(base, seconds, outages_lua)
    return {
        "healthz": health,
        "ticket_events": tickets,
        "outage_events": outages,
        "non_2xx": bad,
        "outages_over_healthz": round(outages / health, 2),
        "outages_over_tickets": round(outages / tickets, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--outages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--ingest-seconds", type=int, default=0)
    args = parser.parse_args()
    events = outage_events(args.outages)
    report: dict[str, Any] = {"outages": args.outages, "backend": args.backend}
    report["in_process"] = in_process(events, args.requests)
    with database(args.backend) as url:
        report["fill_seconds"] = round(fill(url, events), 1)
        with server(url, free_port(), projections=False) as base:
            report["http"] = over_http(base, args.requests)
            if args.ingest_seconds:
                if shutil.which("wrk") is None:
                    raise SystemExit("wrk is needed: apt-get install wrk")
                report["ingest"] = ingest(base, args.ingest_seconds)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
