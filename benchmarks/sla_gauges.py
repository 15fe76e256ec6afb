"""The cost of the SLA gauges in /metrics with 1,000,000 clock rows, against two baselines.

Run:
    .venv/bin/python -m benchmarks.sla_gauges [--rows 1000000] [--scrapes 50]
        [--backend sqlite|postgres]

The clock rows are written straight into the live projection tables (the mix of
``benchmarks/breaches.py``: a third running, many past their due instant, so
most breaches are time-driven and decided at scrape time), the compliance
summary is filled from them in one ``INSERT ... SELECT``, and each plan gets a
policy. Then ``slaclock serve`` runs as a separate process and /metrics is
scraped ``--scrapes`` times, one at a time.

Baselines, measured in the same run:
- the same scrape on the same server before the rows are written (empty read
  model): what /metrics costs without SLA figures to aggregate;
- ``GET /v1/breaches?open_only=true`` (first page of 100), the listing whose
  counts the breached gauge reports;
- query-only, the alternative design: counting breached clocks row by row at
  scrape time (open breached clocks, plus the all-time compliance report, whose
  time-driven breaches are read clock by clock), against ``sla_figures`` (the
  counters the summary keeps, minus the clocks still ahead of now).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, func, select

from benchmarks.breaches import PLANS, fill, free_port, percentiles, timed
from benchmarks.serverproc import admin, database, server
from domain.business_time import DAY_US, to_us
from projections.reads.compliance import ComplianceQuery, report
from projections.reads.queries import ProjectionReader
from projections.reads.sla_gauges import sla_figures
from projections.rows import OPEN_STATUSES
from projections.schema import Tables
from projections.tracking import ensure_schema, write_transaction

POLICY = {
    "name": "Bench",
    "calendar": "uk",
    "priorities": ["P1", "P2", "P3", "P4"],
    "default_priority": "P3",
    "metrics": {
        name: {"targets": {p: {"hours": 4} for p in ("P1", "P2", "P3", "P4")}, "objective": 0.9}
        for name in ("response", "relief", "resolution")
    },
}


def summarise(engine: Engine) -> None:
    """The compliance summary and the plans' policies, as the projection would keep them."""

    def fill_summary(conn: Connection, tables: Tables) -> None:
        c, s = tables.clocks.name, tables.compliance.name
        with write_transaction(conn):
            conn.exec_driver_sql(
                f"INSERT INTO {s} (plan, priority, metric, opened_day, met, breached, pending,"
                f" suspended, open_breach, running) SELECT plan, priority, metric,"
                f" opened_at_us / {DAY_US},"
                " SUM(CASE WHEN outcome = 'met' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN outcome = 'breached' THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN outcome = 'pending' THEN 1 ELSE 0 END), SUM(suspended),"
                " SUM(CASE WHEN breach_from_us IS NOT NULL"
                " AND status IN ('open', 'awaiting_customer') THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN running_due_us IS NOT NULL THEN 1 ELSE 0 END)"
                f" FROM {c} GROUP BY plan, priority, metric, opened_at_us / {DAY_US}"
            )
            recorded = to_us(datetime(2025, 1, 1, tzinfo=UTC))
            for position, plan in enumerate(PLANS, 1):
                conn.execute(
                    tables.policies.insert().values(
                        plan_id=plan,
                        version=1,
                        effective_from_us=None,
                        recorded_at_us=recorded,
                        position=position,
                        document=json.dumps(POLICY),
                    )
                )

    ProjectionReader(engine, lambda: datetime.now(UTC)).read(fill_summary)


def scrape(client: httpx.Client) -> Callable[[], None]:
    def ask() -> None:
        response = client.get("/metrics")
        assert response.status_code == 200, response.text

    return ask


def listing(client: httpx.Client) -> Callable[[], None]:
    def ask() -> None:
        response = client.get("/v1/breaches", params={"open_only": "true"})
        assert response.status_code == 200, response.text

    return ask


def row_by_row(conn: Connection, tables: Tables, now_us: int) -> None:
    """The design not chosen: every breached clock counted at scrape time."""
    c = tables.clocks
    q = select(c.c.plan, c.c.priority, c.c.metric, func.count())
    q = q.where(c.c.breach_from_us <= now_us, c.c.status.in_(OPEN_STATUSES))
    conn.execute(q.group_by(c.c.plan, c.c.priority, c.c.metric)).all()
    report(conn, tables, ComplianceQuery(), now_us)


def query_only(engine: Engine, scrapes: int) -> dict[str, dict[str, float]]:
    reader = ProjectionReader(engine, lambda: datetime.now(UTC))
    parts: dict[str, Callable[[Connection, Tables, int], Any]] = {
        "sla_figures (chosen)": sla_figures,
        "row by row (alternative)": row_by_row,
    }
    found = {}
    for name, part in parts.items():

        def ask(chosen: Callable[[Connection, Tables, int], Any] = part) -> None:
            reader.read(lambda conn, tables: chosen(conn, tables, reader.now_us()))

        found[name] = percentiles(timed(ask, scrapes))
    now = reader.now_us()
    chosen = reader.read(lambda conn, tables: sla_figures(conn, tables, now))
    found["open breached clocks"] = {"count": float(sum(chosen.breached.values()))}
    found["at-risk clocks"] = {"count": float(sum(chosen.at_risk.values()))}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    result: dict[str, Any] = {"rows": args.rows, "backend": args.backend}
    with database(args.backend) as url:
        from service.storage.database import DatabaseConfig, create_sql_engine

        engine = create_sql_engine(DatabaseConfig.parse(url))
        ensure_schema(engine)
        with server(url, free_port(), projections=False) as base, admin(base) as client:
            empty = timed(scrape(client), args.scrapes)
            result["fill_seconds"] = round(fill(engine, args.rows), 1)
            summarise(engine)
            full = timed(scrape(client), args.scrapes)
            result["scrape_empty_read_model"] = percentiles(empty)
            result["scrape_1m_clocks" if args.rows == 1_000_000 else "scrape_full"] = percentiles(
                full
            )
            result["breaches_open_only_page"] = percentiles(timed(listing(client), args.scrapes))
            result["scrape_bytes"] = len(client.get("/metrics").content)
        result["query_only"] = query_only(engine, args.scrapes)
        engine.dispose()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
