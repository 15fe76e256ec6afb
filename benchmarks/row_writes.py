"""How PostgreSQL best takes a step's rows, by the number of rows (projections/store.py).

Run: .venv/bin/python -m benchmarks.row_writes [--rows 1,2,4,8,10,100,500]

For each size, writes tickets-table rows (14 columns) in transactions of that
many rows, each way alternately, and prints the CPU per row of this process
(the driver's work) and of the database server's processes:
- new rows: a multi-row VALUES (a parameter per value), one array per column
  (``unnest``) and COPY;
- upserts over rows that all exist: the same statements with ON CONFLICT, and
  COPY into a staging table then one upsert from it.
The thresholds in projections/store.py (``COPY_NEW_FROM_ROWS``,
``UNNEST_FROM_ROWS``, ``COPY_FROM_ROWS``) come from where these cross.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine

from benchmarks.cpu_budget import cpu_seconds, postgres_pids
from benchmarks.serverproc import database
from projections.schema import Tables, create_generation
from projections.store import copy_rows, insert_unnest, insert_values, upsert_by_copy
from projections.tracking import ensure_schema
from service.storage.database import DatabaseConfig, create_sql_engine

Rows = Sequence[tuple[Any, ...]]
Write = Callable[[Connection, Tables, Sequence[str], Rows], None]
KEYS = ("ticket_id",)


def _rows(count: int, run: str) -> list[tuple[Any, ...]]:
    facts = '[["opened","e1",1,1,1,{"plan":"bench"}]]'
    return [
        (f"{run}-{n}", "bench", 1, "P2", "acme", None, "open", n, n, 1, n, None, facts, None)
        for n in range(count)
    ]


def _conflict(columns: Sequence[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in KEYS)
    return f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}"


NEW: dict[str, Write] = {
    "values": lambda conn, t, cols, rows: insert_values(conn, t.tickets, cols, rows),
    "unnest": lambda conn, t, cols, rows: _unnest(conn, t, cols, rows, ""),
    "copy": lambda conn, t, cols, rows: copy_rows(conn, t.tickets.name, t.tickets, cols, rows),
}
UPSERT: dict[str, Write] = {
    "values": lambda conn, t, cols, rows: insert_values(
        conn, t.tickets, cols, rows, _conflict(cols)
    ),
    "unnest": lambda conn, t, cols, rows: _unnest(conn, t, cols, rows, _conflict(cols)),
    "staging": lambda conn, t, cols, rows: upsert_by_copy(conn, t.tickets, cols, rows, KEYS),
}


def _unnest(
    conn: Connection, tables: Tables, columns: Sequence[str], rows: Rows, tail: str
) -> None:
    assert insert_unnest(conn, tables.tickets, columns, rows, tail)


def _fresh(count: int) -> Callable[[], Rows]:
    """New rows each call: keys no earlier call used."""
    runs = iter(range(1 << 62))
    return lambda: _rows(count, f"n{time.monotonic_ns()}-{next(runs)}")


def _same(rows: Rows) -> Callable[[], Rows]:
    return lambda: rows


def _write(
    way: Write, tables: Tables, columns: Sequence[str], rows: Callable[[], Rows], conn: Connection
) -> None:
    way(conn, tables, columns, rows())


def _measure(engine: Engine, write: Callable[[Connection], None], rows: int, times: int) -> str:
    servers = postgres_pids()
    client, server = time.process_time(), cpu_seconds(servers)
    for _ in range(times):
        with engine.begin() as conn:
            write(conn)
    client, server = time.process_time() - client, cpu_seconds(servers) - server
    per_row = 1e6 / (rows * times)
    return f"{client * per_row:8.1f} {server * per_row:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", default="1,2,4,8,10,100,500")
    args = parser.parse_args()
    with database("postgres") as url:
        engine = create_sql_engine(DatabaseConfig.parse(url))
        ensure_schema(engine)
        with engine.begin() as conn:
            tables = create_generation(conn, 1)
        columns = [column.name for column in tables.tickets.columns]
        print("rows  kind    way       client µs/row  server µs/row")
        for count in (int(n) for n in args.rows.split(",")):
            times = max(10, 2000 // count)
            existing = _rows(count, f"u{count}")
            with engine.begin() as conn:
                copy_rows(conn, tables.tickets.name, tables.tickets, columns, existing)
            for kind, ways in (("new", NEW), ("upsert", UPSERT)):
                for name, way in [*ways.items(), *ways.items()]:
                    rows = _same(existing) if kind == "upsert" else _fresh(count)
                    write = partial(_write, way, tables, columns, rows)
                    print(f"{count:4}  {kind:6}  {name:8}  {_measure(engine, write, count, times)}")
        engine.dispose()


if __name__ == "__main__":
    main()
