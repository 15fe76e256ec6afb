"""GET /v1/breaches latency with 1,000,000 clock rows: p50 and p99, over HTTP and query-only.

Run:
    .venv/bin/python -m benchmarks.breaches [--rows 1000000] [--requests 200]
        [--backend sqlite|postgres]

The clock rows are written straight into the live projection tables (a
realistic mix: a third of the clocks still running, many of them past their
due instant, so most breaches are time-driven and decided at query time), then
``slaclock serve`` runs as a separate process and each query shape is asked
``--requests`` times, one at a time, over keep-alive HTTP. The same shapes are
also timed through ``ProjectionReader`` directly (no HTTP, no JSON).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from benchmarks.serverproc import admin, database, server
from domain.business_time import to_us
from projections.reads.queries import BreachFilters, ProjectionReader
from projections.schema import create_generation, create_indexes, drop_generation, tables_for
from projections.store import insert_tuples
from projections.tracking import ensure_schema, live_generation, write_transaction
from service.storage.database import DatabaseConfig, create_sql_engine

NOW = datetime.now(UTC)
PLANS = ("gold", "silver", "bronze")
METRICS = ("response", "relief", "resolution")
COLUMNS = (
    "ticket_id", "metric", "plan", "priority", "customer", "status", "opened_at_us", "calendar",
    "state", "outcome", "target_seconds", "elapsed_seconds", "started_at_us", "due_at_us",
    "warn_at_us", "breached_at_us", "stopped_at_us", "evaluated_at_us", "running_due_us",
    "breach_from_us", "suspended_seconds", "suspended",
)  # fmt: skip
SHAPES: dict[str, dict[str, Any]] = {
    "breached": {},
    "breached metric=response": {"metric": "response"},
    "breached plan=silver": {"plan": "silver"},
    "breached customer": {"customer": "customer-42"},
    "breached open_only": {"open_only": True},
    "breached priority=P1 plan=gold": {"priority": "P1", "plan": "gold"},
    "at_risk": {"state": "at_risk"},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clock(rng: random.Random, ticket: int, metric: str) -> tuple[Any, ...]:
    opened = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 120))
    target = rng.choice((3600, 4 * 3600, 8 * 3600, 24 * 3600))
    due: datetime | None = opened + timedelta(seconds=target * rng.uniform(1.0, 3.0))
    warn: datetime | None = opened + (due - opened) * 0.75 if due else None
    breached_at: datetime | None
    roll = rng.random()
    running = roll < 0.33
    paused = 0.33 <= roll < 0.40
    stopped_at = (
        None if running or paused else opened + timedelta(seconds=rng.randint(60, 4 * target))
    )
    if running:
        state, outcome, breached_at = "running", "pending", None
    elif paused:
        state, outcome, breached_at, due, warn = "paused", "pending", None, None, None
    else:
        late = stopped_at is not None and due is not None and stopped_at > due
        state, outcome, breached_at = (
            "stopped",
            "breached" if late else "met",
            due if late else None,
        )
    status = "open" if running or paused else rng.choice(("resolved", "closed", "open"))
    running_due = to_us(due) if running and due else None
    breach = to_us(breached_at) if breached_at else running_due
    return (
        f"BENCH-{ticket:08}", metric, rng.choice(PLANS), rng.choice(("P1", "P2", "P3", "P4")),
        f"customer-{rng.randint(1, 500)}", status, to_us(opened), "uk", state, outcome, target,
        rng.randint(0, target), to_us(opened), to_us(due) if due else None,
        to_us(warn) if warn else None, to_us(breached_at) if breached_at else None,
        to_us(stopped_at) if stopped_at else None, to_us(stopped_at or opened), running_due, breach,
        0, 0,
    )  # fmt: skip


def fill(engine: Engine, rows: int) -> float:
    """Write ``rows`` clock rows into a fresh live generation; indexes built at the end."""
    started = time.monotonic()
    ensure_schema(engine)
    rng = random.Random(3)
    with engine.connect() as conn:
        with write_transaction(conn):
            generation = live_generation(conn)
            drop_generation(conn, generation)
            tables = create_generation(conn, generation, indexes=False)
        batch: list[tuple[Any, ...]] = []
        for i in range(rows):
            batch.append(_clock(rng, i // 3, METRICS[i % 3]))
            if len(batch) == 50_000 or i == rows - 1:
                with write_transaction(conn):
                    insert_tuples(conn, tables.clocks, COLUMNS, batch)
                batch = []
        with write_transaction(conn):
            create_indexes(conn, tables_for(generation))
    if engine.dialect.name != "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return time.monotonic() - started


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
    }


def timed(call: Callable[[], Any], requests: int) -> list[float]:
    call()  # warm caches and the plan
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def over_http(base: str, requests: int) -> Iterator[tuple[str, list[float]]]:
    with admin(base) as client:
        for name, params in SHAPES.items():

            def ask(query: dict[str, Any] = params) -> None:
                response = client.get("/v1/breaches", params=query)
                assert response.status_code == 200, response.text

            yield name, timed(ask, requests)
        first = client.get("/v1/breaches").json()
        cursor = {"cursor": first["next_cursor"]}
        yield "breached page 2", timed(lambda: client.get("/v1/breaches", params=cursor), requests)


def query_only(engine: Engine, requests: int) -> Iterator[tuple[str, list[float]]]:
    reader = ProjectionReader(engine, lambda: datetime.now(UTC))
    for name, params in SHAPES.items():
        filters = BreachFilters(**params)

        def ask(chosen: BreachFilters = filters) -> None:
            reader.breaches(chosen, 100, None)

        yield name, timed(ask, requests)


def arguments(description: str) -> argparse.Namespace:
    """``--rows``, ``--requests`` and ``--backend``, as the read-model benchmarks take them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    return parser.parse_args()


@contextmanager
def filled(backend: str, rows: int, report: dict[str, Any]) -> Iterator[tuple[str, Engine]]:
    """A fresh database with ``rows`` clocks in its read model (``report`` gets the time)."""
    with database(backend) as url:
        engine = create_sql_engine(DatabaseConfig.parse(url))
        try:
            report["fill_seconds"] = round(fill(engine, rows), 1)
            yield url, engine
        finally:
            engine.dispose()


def main() -> None:
    args = arguments(__doc__.split("\n", 1)[0])
    report: dict[str, Any] = {"rows": args.rows, "backend": args.backend}
    with filled(args.backend, args.rows, report) as (url, engine):
        found = ProjectionReader(engine, lambda: datetime.now(UTC)).breaches(
            BreachFilters(), 1000, None
        )
        report["breaches_on_first_page"] = len(found.items)
        report["query_only"] = {n: percentiles(s) for n, s in query_only(engine, args.requests)}
        all_http: list[float] = []
        report["http"] = {}
        with server(url, free_port()) as base:
            for name, samples in over_http(base, args.requests):
                report["http"][name] = percentiles(samples)
                all_http += samples
        report["http_all_shapes"] = percentiles(all_http)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
