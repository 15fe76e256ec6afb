"""The compliance counters: added to in place, and a row that falls to zero is removed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event, select

from projections.rows import SummaryKey
from projections.schema import Tables, create_generation
from projections.store import apply_summary
from projections.tracking import ensure_schema, write_transaction
from tests.integration.test_projection_support import database

GOLD: SummaryKey = ("gold", "P1", "response", 20_000)
SILVER: SummaryKey = ("silver", "P2", "resolution", 20_001)


@contextmanager
def generation(url: str) -> Iterator[tuple[Connection, Tables]]:
    with database(url) as (_store, engine):
        ensure_schema(engine)
        with engine.connect() as conn:
            with write_transaction(conn):
                tables = create_generation(conn, 7)
            yield conn, tables


def counters(conn: Connection, tables: Tables) -> dict[SummaryKey, list[int]]:
    t = tables.compliance
    keys = (t.c.plan, t.c.priority, t.c.metric, t.c.opened_day)
    counts = (t.c.met, t.c.breached, t.c.pending, t.c.suspended, t.c.open_breach, t.c.running)
    rows = conn.execute(select(*keys, *counts)).all()
    return {(r[0], r[1], r[2], r[3]): list(r[4:]) for r in rows}


@contextmanager
def statements(conn: Connection) -> Iterator[list[str]]:
    """The SQL ``conn`` runs inside the block, as the driver receives it."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(conn, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", record)


def test_counters_add_up_and_empty_rows_go(database_url: str) -> None:
    with generation(database_url) as (conn, tables):
        with write_transaction(conn):
            apply_summary(
                conn, tables.compliance, {GOLD: [1, 0, 2, 0, 0, 2], SILVER: [0, 1, 0, 0, 1, 0]}
            )
        with write_transaction(conn):
            apply_summary(
                conn, tables.compliance, {GOLD: [0, 0, -1, 0, 0, -1], SILVER: [0, -1, 0, 0, -1, 0]}
            )
        assert counters(conn, tables) == {GOLD: [1, 0, 1, 0, 0, 1]}
        with write_transaction(conn):
            apply_summary(conn, tables.compliance, {GOLD: [-1, 0, -1, 0, 0, -1]})
        assert counters(conn, tables) == {}


def test_counters_that_only_grow_are_not_checked_for_removal(database_url: str) -> None:
    """A step of new tickets only adds: no delete (two statements of every small step)."""
    with generation(database_url) as (conn, tables):
        with write_transaction(conn), statements(conn) as grown:
            apply_summary(conn, tables.compliance, {GOLD: [0, 0, 1, 0, 0, 1]})
            apply_summary(conn, tables.compliance, {GOLD: [0, 0, 1, 0, 0, 1]})
        with write_transaction(conn), statements(conn) as fallen:
            apply_summary(conn, tables.compliance, {GOLD: [1, 0, -1, 0, 0, -1]})
        assert not [sql for sql in grown if sql.startswith("DELETE")]
        assert [sql for sql in fallen if sql.startswith("DELETE")]
        assert counters(conn, tables) == {GOLD: [1, 0, 1, 0, 0, 1]}
