"""The dashboard overview (GET /ui) with 1,000,000 clock rows: p50 and p99 over HTTP.

Run:
    .venv/bin/python -m benchmarks.ui_overview [--rows 1000000] [--requests 200]
        [--backend sqlite|postgres]

The clock rows are written straight into the live projection tables (the mix
of benchmarks/breaches.py: a third still running, many past due, so most
breaches are decided at query time), and the compliance counters are filled
from them in one aggregate, as the projector would have kept them. Then
``slaclock serve`` runs as a separate process and each page is asked
``--requests`` times, one at a time, over keep-alive HTTP with the dashboard's
sign-in cookie, once the overview's compliance reports (computed in the
background) are ready. ``GET /v1/breaches`` (one page of 100) is timed in the same run
as the baseline the pages are compared with.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import Engine, case, func, insert, literal, select

from benchmarks.breaches import arguments, filled, free_port, percentiles, timed
from benchmarks.serverproc import TOKEN, server
from domain.business_time import DAY_US
from projections.rows import OPEN_STATUSES
from projections.schema import tables_for
from projections.tracking import live_generation, write_transaction

PAGES = {
    "overview (30 days)": "/ui",
    "overview (all time)": "/ui?window=all",
    "clocks fragment (refresh)": "/ui/fragments/clocks",
    "baseline GET /v1/breaches": "/v1/breaches",
}


def fill_compliance(engine: Engine) -> int:
    """The compliance counters per plan, priority, metric and opening day, from the clocks."""
    with engine.connect() as conn, write_transaction(conn):
        tables = tables_for(live_generation(conn))
        c, s = tables.clocks, tables.compliance
        day = (c.c.opened_at_us / DAY_US).cast(s.c.opened_day.type)
        counted = [func.sum(case((c.c.outcome == o, 1), else_=0)) for o in ("met", "breached")]
        pending = func.sum(case((c.c.outcome == "pending", 1), else_=0))
        # The gauges' counters, as projections/rows.py keeps them.
        open_breach = func.sum(
            case((c.c.status.in_(OPEN_STATUSES) & c.c.breach_from_us.is_not(None), 1), else_=0)
        )
        running = func.sum(case((c.c.running_due_us.is_not(None), 1), else_=0))
        rows = select(
            c.c.plan,
            c.c.priority,
            c.c.metric,
            day,
            *counted,
            pending,
            literal(0),
            open_breach,
            running,
        ).group_by(c.c.plan, c.c.priority, c.c.metric, day)
        columns = ["plan", "priority", "metric", "opened_day", "met", "breached", "pending"]
        counters = ["suspended", "open_breach", "running"]
        conn.execute(insert(s).from_select([*columns, *counters], rows))
        return int(conn.execute(select(func.count()).select_from(s)).scalar_one())


def first_reports(client: httpx.Client) -> dict[str, float]:
    """Seconds until each window's first compliance report is ready (computed in the background).

    The timings below start only once it is, so they measure the full page.
    """
    ready = {}
    for window in ("30", "all"):
        started = time.monotonic()
        while "Computing the compliance" in client.get(f"/ui?window={window}").text:
            time.sleep(0.5)
        ready[window] = round(time.monotonic() - started, 1)
    return ready


def over_http(
    base: str, requests: int, report: dict[str, Any]
) -> Iterator[tuple[str, list[float]]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    cookies = {"slaclock_ui": TOKEN}
    with httpx.Client(base_url=base, headers=headers, cookies=cookies, timeout=120) as client:
        report["first_compliance_report_seconds"] = first_reports(client)
        for name, path in PAGES.items():

            def ask(target: str = path) -> None:
                response = client.get(target)
                assert response.status_code == 200, response.text[:300]

            yield name, timed(ask, requests)


def main() -> None:
    args = arguments(__doc__.split("\n", 1)[0])
    report: dict[str, Any] = {"rows": args.rows, "backend": args.backend}
    with filled(args.backend, args.rows, report) as (url, engine):
        report["compliance_rows"] = fill_compliance(engine)
        report["http"] = {}
        with server(url, free_port()) as base:
            for name, samples in over_http(base, args.requests, report):
                report["http"][name] = percentiles(samples)
        baseline = report["http"]["baseline GET /v1/breaches"]["p99_ms"]
        report["p99_vs_baseline"] = {
            name: round(figures["p99_ms"] / baseline, 2) for name, figures in report["http"].items()
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
