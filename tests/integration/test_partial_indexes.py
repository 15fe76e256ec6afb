"""The listings' statements find their rows through the partial indexes (query plans).

A partial index serves a query only when the query's terms imply the index's
``WHERE``; a statement that stops implying it falls back to reading the whole
table, which no answer would show. So the plans of the statements the reader
really runs are asked of the database itself, on SQLite and PostgreSQL (where
sequential scans are priced out, since these tables are small).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, event

from projections.reads.compliance import ComplianceQuery
from projections.reads.queries import BreachFilters, TicketFilters
from projections.service import ProjectionService
from tests.integration.test_projection_support import T0, LogWriter, database, follow_all

Executed = list[tuple[str, Any]]


def recording_cursor(seen: Executed) -> type[psycopg.Cursor[Any]]:
    """psycopg's cursor, noting in ``seen`` each statement it runs (the listings' raw
    reads)."""

    class RecordingCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            seen.append((str(query), params))
            return super().execute(query, params, **kwargs)

    return RecordingCursor


@contextmanager
def statements(engine: Engine) -> Iterator[Executed]:
    """The SELECTs run on ``engine`` while the block runs, through SQLAlchemy or on a
    pooled connection's driver cursor (as the one-statement listings read)."""
    seen: Executed = []

    def executed(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    def checkout(driver: Any, *_: Any) -> None:
        if isinstance(driver, sqlite3.Connection):
            driver.set_trace_callback(lambda sql: seen.append((sql, ())))
        else:
            driver.cursor_factory = recording

    def checkin(driver: Any, *_: Any) -> None:
        if isinstance(driver, sqlite3.Connection):
            driver.set_trace_callback(None)
        else:
            driver.cursor_factory = psycopg.Cursor

    recording = recording_cursor(seen)
    hooks = [(engine, "before_cursor_execute", executed)]
    hooks += [(engine.pool, "checkout", checkout), (engine.pool, "checkin", checkin)]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield seen
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)


def indexes_used(engine: Engine, read: Callable[[], object]) -> set[str]:
    """The indexes named in the plans of the SELECTs ``read`` runs."""
    engine.dispose()  # every connection is checked out afresh, through the hooks
    with statements(engine) as seen:
        read()
    selects = [(sql, params) for sql, params in seen if sql.lstrip().upper().startswith("SELECT")]
    names: set[str] = set()
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        if postgres:
            cursor.execute("SET enable_seqscan = off")
        for sql, params in selects:
            cursor.execute(explain + sql, params)
            for row in cursor.fetchall():
                names.update(word for word in str(row[-1]).split() if "_g1_" in word)
        conn.rollback()
    return names


def test_each_listing_reads_its_partial_index(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        for i in range(6):
            opened = T0 + i * timedelta(minutes=10)
            writer.opened(f"I-{i}", opened, priority="P1", customer="acme")
            if i % 2:
                writer.event(f"I-{i}", "responded", opened + 2 * timedelta(hours=1))
        follow_all(engine, store)
        service = ProjectionService(engine, store, now=lambda: T0 + timedelta(hours=3))
        reader = service.reader
        prefix = "slaproj_g1_"
        expected: dict[str, Callable[[], object]] = {
            "clocks_breach clocks_due": lambda: reader.breaches(BreachFilters(), 10, None),
            "clocks_plan_breach clocks_due": lambda: reader.breaches(
                BreachFilters(plan="gold"), 10, None
            ),
            "clocks_due": lambda: reader.breaches(BreachFilters(state="at_risk"), 10, None),
            "tickets_customer": lambda: reader.tickets(TicketFilters(customer="acme"), 10, None),
            "clocks_customer": lambda: service.compliance(ComplianceQuery(customer="acme")),
        }
        for names, read in expected.items():
            used = indexes_used(engine, read)
            for name in names.split():
                assert prefix + name in used, (name, used)
        gauges = indexes_used(engine, service.sla_figures)
        assert prefix + "clocks_due" in gauges
        assert {prefix + "clocks_breach", prefix + "clocks_plan_breach"} & gauges, gauges
