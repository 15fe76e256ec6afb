"""Projection throughput: rebuild events/s against raw read+decode of the same log, and memory.

Run:
    .venv/bin/python -m benchmarks.projections [--events 1000000] [--database-url URL]
        [--catchup 20000] [--keep]

It writes a synthetic but realistic log straight through EventStore.append in
big batches (three plans, two office calendars plus 24x7, tickets that are
opened, answered, paused, resumed, relieved, resolved, reopened, closed, and a
calendar and policy version every 200,000 events), then in a fresh process:
reads and decodes the whole log (the raw rate), rebuilds the projections
(``projections.rebuild``), and reports both rates, their ratio, peak RSS and
RSS samples along the rebuild. ``--catchup N`` also measures following the
first N events at one transaction per event and per 500 events.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eventsourcing.domain import DomainEvent

from domain.events import (
    CLASS_OF_TYPE,
    CalendarVersionDefined,
    EventType,
    PolicyVersionDefined,
    calendar_uuid,
    policy_uuid,
    ticket_uuid,
)
from projections.follower import Follower
from projections.rebuild import Progress, rebuild
from projections.schema import create_generation
from projections.tracking import ensure_schema, write_transaction
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
APPEND_BATCH = 5000
OPEN_TICKETS = 4000
CATALOG_EVERY = 200_000

UK = {
    "timezone": "Europe/London",
    "week": {d: [["09:00", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "GB", "subdivision": "ENG"},
    "hours_per_working_day": 8.5,
}
NY = {
    "timezone": "America/New_York",
    "week": {d: [["08:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu")}
    | {"fri": [["08:00", "16:00"]]},
    "holidays": {"country": "US"},
}


def _plan(calendar: str, hours: int) -> dict[str, Any]:
    return {
        "name": f"plan on {calendar}",
        "calendar": calendar,
        "priorities": ["P1", "P2", "P3", "P4"],
        "default_priority": "P3",
        "priority_rules": [{"when": {"kind": "feature_request"}, "priority": "P4"}],
        "calendar_overrides": {"P1": "24x7"},
        "metrics": {
            "response": {
                "targets": {
                    "P1": {"hours": 1},
                    "P2": {"hours": hours},
                    "P3": {"working_days": 1},
                    "P4": {"working_days": 2},
                }
            },
            "relief": {
                "targets": {"P1": {"hours": 4}, "P2": {"working_days": 1}},
                "objective": 0.9,
            },
            "resolution": {
                "targets": {
                    "P1": {"working_days": 2},
                    "P2": {"working_days": 5},
                    "P3": {"working_days": 10},
                }
            },
        },
    }


PLANS = {"gold": ("uk", 4), "silver": ("ny", 8), "bronze": ("uk", 8)}
SCRIPTS = (
    ("responded", "relieved", "resolved", "closed"),
    ("responded", "awaiting_customer", "customer_replied", "relieved", "resolved", "closed"),
    ("priority_changed", "responded", "relieved", "resolved", "reopened", "resolved", "closed"),
    ("responded", "awaiting_customer", "customer_replied", "resolved"),
    ("awaiting_customer", "responded", "customer_replied", "relieved"),
)


class LogGenerator:
    """Tickets in flight interleave; each advances through one of a few realistic scripts."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.now = START
        self.versions: dict[Any, int] = {}
        self.active: list[tuple[str, list[str]]] = []
        self.opened = 0
        self.written = 0

    def _version(self, key: Any) -> int:
        self.versions[key] = self.versions.get(key, 0) + 1
        return self.versions[key]

    def catalog(self, holiday: str | None = None) -> list[DomainEvent]:
        uk = UK | {"extra_closed": [holiday]} if holiday else UK
        events: list[DomainEvent] = [
            CalendarVersionDefined(
                originator_id=calendar_uuid(name),
                originator_version=self._version(("cal", name)),
                timestamp=self.now,
                calendar_id=name,
                document=document,
                effective_from=None,
            )
            for name, document in (("uk", uk), ("ny", NY))
        ]
        for plan, (calendar, hours) in PLANS.items():
            events.append(
                PolicyVersionDefined(
                    originator_id=policy_uuid(plan),
                    originator_version=self._version(("plan", plan)),
                    timestamp=self.now,
                    plan_id=plan,
                    document=_plan(calendar, hours - (1 if holiday else 0)),
                    effective_from=None,
                )
            )
        return events

    def _ticket_event(self, ticket_id: str, kind: str, data: dict[str, Any]) -> DomainEvent:
        version = self._version(ticket_id)
        return CLASS_OF_TYPE[EventType(kind)](
            originator_id=ticket_uuid(ticket_id),
            originator_version=version,
            timestamp=self.now + timedelta(seconds=2),
            ticket_id=ticket_id,
            event_id=f"{ticket_id}-{version}",
            occurred_at=self.now,
            data=data,
            fingerprint="bench",
        )

    def next_event(self) -> DomainEvent:
        self.now += timedelta(seconds=self.rng.randint(5, 90))
        if len(self.active) < OPEN_TICKETS or self.rng.random() < 0.02:
            self.opened += 1
            ticket_id = f"BENCH-{self.opened:08}"
            self.active.append((ticket_id, list(self.rng.choice(SCRIPTS))))
            data = {
                "plan": self.rng.choice(list(PLANS)),
                "customer": f"customer-{self.rng.randint(1, 500)}",
                "kind": self.rng.choice(["incident", "incident", "query", "feature_request"]),
            }
            if self.rng.random() < 0.6:
                data["priority"] = self.rng.choice(["P1", "P2", "P3"])
            return self._ticket_event(ticket_id, "opened", data)
        index = self.rng.randrange(len(self.active))
        ticket_id, script = self.active[index]
        kind = script.pop(0)
        if not script:
            self.active[index] = self.active[-1]
            self.active.pop()
        data = {"priority": self.rng.choice(["P1", "P2"])} if kind == "priority_changed" else {}
        return self._ticket_event(ticket_id, kind, data)

    def batches(self, total: int) -> Iterator[list[DomainEvent]]:
        batch = self.catalog()
        while self.written < total:
            if self.written and self.written % CATALOG_EVERY == 0:
                holiday = (self.now + timedelta(days=3)).date().isoformat()
                batch.extend(self.catalog(holiday))
            batch.append(self.next_event())
            self.written += 1
            if len(batch) >= APPEND_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def generate(store: EventStore, events: int) -> float:
    started = time.monotonic()
    generator = LogGenerator()
    for batch in generator.batches(events):
        store.append(batch)
        sys.stderr.write(f"\rgenerating log: {generator.written:,}/{events:,} events")
    sys.stderr.write("\n")
    return time.monotonic() - started


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


class SampledProgress(Progress):
    """The rebuild's progress bar, also sampling resident memory at each redraw."""

    def __init__(self) -> None:
        super().__init__(sys.stderr, interval=2.0)
        self.samples: list[tuple[int, float]] = []

    def update(self, done: int, events: int, *, force: bool = False) -> None:
        self.samples.append((done, round(_rss_mb(), 1)))
        super().update(done, events, force=force)


def read_and_decode(store: EventStore, page: int = 2000) -> tuple[int, float]:
    started, position, count = time.monotonic(), 0, 0
    while batch := store.read_after(position, page):
        position = batch[-1][0]
        count += len(batch)
    return count, time.monotonic() - started


def read_raw(store: EventStore, page: int = 2000) -> tuple[int, float]:
    started, position, count = time.monotonic(), 0, 0
    while batch := store.read_notifications_after(position, page):
        position = batch[-1].id
        count += len(batch)
    return count, time.monotonic() - started


def measure(url: str) -> dict[str, Any]:
    """In a fresh process: rebuild (with memory samples), then the raw read+decode rate."""
    config = DatabaseConfig.parse(url)
    store, engine = EventStore(config, create_table=False), create_sql_engine(config)
    ensure_schema(engine)
    before = _rss_mb()
    progress = SampledProgress()
    result = rebuild(engine, store, progress=progress, grace_seconds=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    count, seconds = read_and_decode(store)
    raw_count, raw_seconds = read_raw(store)
    samples = progress.samples
    step = max(1, len(samples) // 8)
    return {
        "events": result.events,
        "rebuild_seconds": round(result.seconds, 2),
        "rebuild_events_per_s": round(result.events_per_second),
        "read_decode_events_per_s": round(count / seconds),
        "read_raw_events_per_s": round(raw_count / raw_seconds),
        "ratio": round(result.events_per_second / (count / seconds), 3),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1),
        "worker_peak_rss_mb": round(workers_peak, 1),
        "load_average": os.getloadavg(),
        "rss_samples_mb": samples[::step] + samples[-1:],
    }


def catchup(url: str, events: int) -> dict[str, float]:
    """Following the log at 1 event per transaction (the first tenth of ``events``) and at
    500 per transaction (all ``events``), into scratch generations."""
    config = DatabaseConfig.parse(url)
    store, engine = EventStore(config, create_table=False), create_sql_engine(config)
    ensure_schema(engine)
    rates: dict[str, float] = {}
    for generation, batch, limit in ((90, 1, max(1, events // 10)), (91, 500, events)):
        with engine.connect() as conn, write_transaction(conn):
            create_generation(conn, generation)
        follower = Follower(engine, store, generation=generation)
        started = time.monotonic()
        while follower.position < limit and follower.step(min(batch, limit - follower.position)):
            pass
        rates[f"catchup_{batch}_per_txn_events_per_s"] = round(
            follower.position / (time.monotonic() - started)
        )
        follower.close()
    return rates


@contextmanager
def log_database(url: str | None, keep: bool) -> Iterator[str]:
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="slaclock-bench-"))
    try:
        yield f"sqlite:///{folder / 'log.db'}"
    finally:
        if not keep:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite file)")
    parser.add_argument("--catchup", type=int, default=0, help="also time following N events")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    parser.add_argument("--measure-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.measure_only)))
        return
    with log_database(args.database_url, args.keep) as url:
        store = EventStore(DatabaseConfig.parse(url))
        generate_seconds = generate(store, args.events)
        store.close()
        child = [sys.executable, "-m", "benchmarks.projections", "--measure-only", url]
        report = json.loads(subprocess.run(child, check=True, capture_output=True).stdout)
        report["generate_seconds"] = round(generate_seconds, 1)
        report["database"] = url.split(":", 1)[0]
        if args.catchup:
            report |= catchup(url, args.catchup)
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
