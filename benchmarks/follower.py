"""Live following against the rebuild and raw read+decode of the same log, CPU per event.

Run:
    .venv/bin/python -m benchmarks.follower [--events 100000] [--database-url URL] [--keep]
    .venv/bin/python -m benchmarks.follower --log URL    # a log kept earlier (--keep)
    .venv/bin/python -m benchmarks.follower --shape new-tickets [--events 100000] [--keep]
    .venv/bin/python -m benchmarks.follower --shape new-tickets --postgres   # a throwaway database
    .venv/bin/python -m benchmarks.follower --shape new-tickets --log URL


On one log (``benchmarks.projections``' generator), in one process and one run:
reads and decodes the whole log (the raw rate), follows it into scratch
generations at 500 events per transaction (the first ``--small`` events), at
5,000, and growing as the projection worker does when behind (500, doubling
after each full batch up to 20,000; the worker also halves a batch that took
over half a second, which this leaves out so that runs compare), then rebuilds.
Each is reported as events/s and as CPU-seconds of this process per 10,000
events (``time.process_time``): on a shared machine the CPU figure, and ratios
within one run, are what compare.
PostgreSQL's own CPU is the server's, not counted here. The collector's
thresholds are the projection processes' (``service.gc_tuning``).

``--shape new-tickets``: the live follower's commonest work instead, one
``opened`` event per new ticket, written by a real server (projections off) in
batches of 1,000 as ``benchmarks.ingest`` posts them; followed at 1,000 and at
5,000 events per transaction, then into the live generation at 5,000 as the
worker follows it (``live_5000``: with its position's live check and its webhook
observer, which the scratch generations leave out; with no subscription, as
here, the observer keeps no marks), beside the rebuild of the same log.
``ahead_5000`` follows at 5,000 as ``slaclock project`` does: on PostgreSQL it
reads and evaluates the next batch while one is written (the same as
``follow_5000`` on SQLite, which does not).
A log kept by ``--keep`` was rebuilt, so a later ``--log`` run reports
``live_5000`` as 0 events: measure the live follower on a fresh log.
``--customer NAME`` makes every ticket name a customer (by default they name
none, so the partial customer indexes hold none of them).
``--without-indexes`` drops the live generation's listing indexes (tickets' and
clocks', not their primary keys) before following: what they cost the follower
(``live_5000``; the scratch generations keep theirs).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from benchmarks.ingest import batch_rate, define_bench_plan
from benchmarks.projections import generate, log_database, read_and_decode
from benchmarks.serverproc import database, server
from projections.follower import Follower
from projections.rebuild import rebuild
from projections.schema import create_generation, drop_generation, tables_for
from projections.tracking import ensure_schema, write_transaction
from service.gc_tuning import collect_less_often
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore

SCRATCH = 90
LARGEST = 20_000
PORT = 8893


def fixed(size: int) -> Callable[[int, bool], int]:
    return lambda _size, _behind: size


def doubling(size: int, behind: bool) -> int:
    """The worker's growth: double after a full batch, up to the largest (no time bound)."""
    return min(size * 2, LARGEST) if behind else 500


def follow(
    engine: Engine,
    store: EventStore,
    events: int,
    first: int,
    grow: Callable[[int, bool], int],
    *,
    read_ahead: bool = False,
) -> dict[str, float]:
    """Follow into a scratch generation, as a rebuild's catch-up does: nothing announced.
    ``read_ahead``: as ``slaclock project`` follows (on PostgreSQL it reads ahead)."""
    with engine.connect() as conn, write_transaction(conn):
        drop_generation(conn, SCRATCH)
        create_generation(conn, SCRATCH)
    follower = Follower(engine, store, generation=SCRATCH, read_ahead=read_ahead)
    report = _timed(follower, events, first, grow)
    with engine.connect() as conn, write_transaction(conn):
        drop_generation(conn, SCRATCH)
    return report


def follow_live(engine: Engine, store: EventStore, events: int, size: int) -> dict[str, float]:
    """Follow into the live generation (empty, at position 0) as the worker does, with
    its webhook observer: its work is part of the live follower's cost (with no
    subscription, one query a step and no marks)."""
    return _timed(Follower(engine, store), events, size, fixed(size))


def _timed(
    follower: Follower, events: int, first: int, grow: Callable[[int, bool], int]
) -> dict[str, float]:
    _ = follower.tables  # loads the tracked position: a kept log's live one is not 0
    start = follower.position
    cpu, wall, size = time.process_time(), time.monotonic(), first
    while follower.position < events:
        applied = follower.step(min(size, events - follower.position))
        if not applied:
            break
        size = grow(size, applied == size)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    done = follower.position - start
    follower.close()
    if not done:
        return {"events": 0}
    return {
        "events": done,
        "events_per_s": round(done / wall),
        "cpu_s_per_10k": round(cpu / done * 10_000, 3),
    }


def measure(url: str, small: int) -> dict[str, Any]:
    collect_less_often()  # as the projection processes do
    config = DatabaseConfig.parse(url)
    store, engine = EventStore(config, create_table=False), create_sql_engine(config)
    ensure_schema(engine)
    events = store.max_position()
    cpu = time.process_time()
    count, seconds = read_and_decode(store)
    report: dict[str, Any] = {
        "log_events": events,
        "read_decode": {
            "events_per_s": round(count / seconds),
            "cpu_s_per_10k": round((time.process_time() - cpu) / count * 10_000, 3),
        },
        "follow_500": follow(engine, store, min(small, events), 500, fixed(500)),
        "follow_5000": follow(engine, store, events, 5000, fixed(5000)),
        "follow_doubling": follow(engine, store, events, 500, doubling),
    }
    result = rebuild(engine, store, grace_seconds=0)
    report["rebuild_events_per_s"] = round(result.events_per_second)
    rebuilt = report["rebuild_events_per_s"]
    for mode in ("follow_500", "follow_5000", "follow_doubling"):
        report[mode]["vs_rebuild"] = round(report[mode]["events_per_s"] / rebuilt, 3)
    report["load_average"] = os.getloadavg()
    store.close()
    engine.dispose()
    return report


def write_new_tickets(url: str, events: int, customer: str | None = None) -> float:
    """Write ``events`` new tickets through a server (projections off); its events/s."""
    with server(url, PORT, projections=False) as base:
        define_bench_plan(base)
        return batch_rate(base, max(1, events // 1000), customer=customer)


def drop_secondary_indexes(engine: Engine, generation: int) -> list[str]:
    """The experiment ``--without-indexes``: what the read models' listing indexes cost."""
    tables = tables_for(generation)
    indexes = [*tables.tickets.indexes, *tables.clocks.indexes]
    with engine.connect() as conn, write_transaction(conn):
        for index in indexes:
            index.drop(conn)
    return sorted(str(index.name) for index in indexes)


def measure_new_tickets(
    url: str, ingest: float | None, without_indexes: bool = False
) -> dict[str, Any]:
    """Follow the new tickets' log at 1,000 and 5,000 events per step, then rebuild it."""
    collect_less_often()  # as the projection processes do
    config = DatabaseConfig.parse(url)
    store, engine = EventStore(config, create_table=False), create_sql_engine(config)
    live = ensure_schema(engine)
    dropped = drop_secondary_indexes(engine, live) if without_indexes else []
    total = store.max_position()
    report: dict[str, Any] = {
        "log_events": total,
        "follow_1000": follow(engine, store, total, 1000, fixed(1000)),
        "follow_5000": follow(engine, store, total, 5000, fixed(5000)),
        "ahead_5000": follow(engine, store, total, 5000, fixed(5000), read_ahead=True),
        "live_5000": follow_live(engine, store, total, 5000),
    }
    rebuilt = round(rebuild(engine, store, grace_seconds=0).events_per_second)
    report["rebuild_events_per_s"] = rebuilt
    for mode in ("follow_1000", "follow_5000", "ahead_5000", "live_5000"):
        followed = report[mode].get("events_per_s", 0)
        report[mode]["vs_rebuild"] = round(followed / rebuilt, 3)
        if ingest is not None:
            report[mode]["vs_ingest"] = round(followed / ingest, 3)
    if ingest is not None:
        report["ingest_events_per_s"] = round(ingest)
    report["load_average"] = os.getloadavg()
    if dropped:
        report["live_indexes_dropped"] = dropped
    store.close()
    engine.dispose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty database (default: a temp SQLite file)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a new PostgreSQL database on SLA_BENCH_POSTGRES_URL's server, dropped after",
    )
    parser.add_argument("--log", help="measure an existing log instead of writing one")
    parser.add_argument("--small", type=int, default=20_000, help="events followed at 500")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    parser.add_argument("--shape", choices=("mixed", "new-tickets"), default="mixed")
    parser.add_argument(
        "--customer",
        help="new-tickets: every ticket names this customer (the partial customer indexes hold it)",
    )
    parser.add_argument(
        "--without-indexes",
        action="store_true",
        help="new-tickets: drop the live generation's listing indexes first (an experiment)",
    )
    args = parser.parse_args()
    if args.postgres:
        with database("postgres") as url:
            run(args, url)
        return
    run(args, args.database_url)


def run(args: argparse.Namespace, database_url: str | None) -> None:
    if args.shape == "new-tickets":
        if args.log:
            print(json.dumps(measure_new_tickets(args.log, None, args.without_indexes), indent=2))
            return
        with log_database(database_url, args.keep) as url:
            ingest = write_new_tickets(url, args.events, args.customer)
            print(json.dumps(measure_new_tickets(url, ingest, args.without_indexes), indent=2))
        return
    if args.log:
        print(json.dumps(measure(args.log, args.small), indent=2))
        return
    with log_database(database_url, args.keep) as url:
        store = EventStore(DatabaseConfig.parse(url))
        generate(store, args.events)
        store.close()
        report = measure(url, args.small)
        report["database"] = url.split(":", 1)[0]
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
