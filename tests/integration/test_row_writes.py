"""The projections' bulk row writes: whichever way a database takes the rows (one
statement per row, a multi-row VALUES, one array per column, COPY, COPY into a
staging table), the table ends up holding exactly the rows written."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, select

from projections.schema import Tables
from projections.store import (
    COPY_FROM_ROWS,
    COPY_NEW_FROM_ROWS,
    UNNEST_FROM_ROWS,
    apply_summary,
    insert_tuples,
    upsert_values,
)
from projections.tracking import write_transaction
from tests.integration.test_compliance_counters import counters, generation, statements

# The values array and COPY formats must escape: quotes, braces, commas, backslashes,
# the word NULL, empty strings, tabs and newlines, and text beyond ASCII.
TEXT = st.one_of(
    st.sampled_from(["", "NULL", "null", '"q"', "{a,b}", "a\\b", "tab\there", "two\nlines"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
)
BIG = st.integers(-(2**63), 2**63 - 1)
SMALL = st.integers(-(2**31), 2**31 - 1)

COLUMNS = ("ticket_id", "plan", "policy_version", "priority", "customer", "kind", "status")
COLUMNS += ("opened_at_us", "last_event_at_us", "event_count", "last_position")
COLUMNS += ("settled_at_us", "facts", "contract")


def ticket_values(ticket_id: str) -> st.SearchStrategy[tuple[Any, ...]]:
    """A tickets-table row in ``COLUMNS`` order; every nullable column may be None."""
    return st.tuples(
        st.just(ticket_id),
        TEXT,
        st.none() | SMALL,
        st.none() | TEXT,
        st.none() | TEXT,
        st.none() | TEXT.map(lambda s: s[:32]),
        TEXT.map(lambda s: s[:32]),
        BIG,
        BIG,
        SMALL,
        BIG,
        st.none() | BIG,
        TEXT,
        st.none() | TEXT,
    )


@st.composite
def writes(draw: st.DrawFn) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows first inserted as new, then rows upserted over them (some keys old, some new)."""
    sizes = st.sampled_from([1, COPY_NEW_FROM_ROWS - 1, COPY_NEW_FROM_ROWS, UNNEST_FROM_ROWS])
    count = draw(sizes | st.integers(0, 3 * UNNEST_FROM_ROWS))
    first = [draw(ticket_values(f"t{n}")) for n in range(count)]
    keys = draw(st.lists(st.integers(0, count + UNNEST_FROM_ROWS), unique=True, max_size=20))
    second = [draw(ticket_values(f"t{n}")) for n in keys]
    return first, second


def stored(conn: Connection, tables: Tables) -> dict[str, tuple[Any, ...]]:
    t = tables.tickets
    rows = conn.execute(select(*(t.c[name] for name in COLUMNS))).all()
    return {row[0]: tuple(row) for row in rows}


def test_inserted_and_upserted_rows_are_stored_as_written(database_url: str) -> None:
    with generation(database_url) as (conn, tables):

        @settings(max_examples=120, deadline=None)
        @given(writes())
        def check(rows: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]) -> None:
            first, second = rows
            with write_transaction(conn):
                conn.execute(delete(tables.tickets))
                insert_tuples(conn, tables.tickets, COLUMNS, first)
            assert stored(conn, tables) == {row[0]: row for row in first}
            with write_transaction(conn):
                upsert_values(conn, tables.tickets, COLUMNS, second, ["ticket_id"])
            expected = {row[0]: row for row in first} | {row[0]: row for row in second}
            assert stored(conn, tables) == expected

        check()


def ticket_row(ticket_id: str, plan: str, version: int) -> tuple[Any, ...]:
    return (ticket_id, plan, version, "P1", "acme", None, "open", 1, 2, 1, 3, None, "[]", None)


def test_a_big_upsert_goes_through_staging_and_replaces_rows(database_url: str) -> None:
    keys = [f"t{n}" for n in range(COPY_FROM_ROWS + 1)]
    with generation(database_url) as (conn, tables):
        with write_transaction(conn):
            insert_tuples(conn, tables.tickets, COLUMNS, [ticket_row(k, "gold", 1) for k in keys])
            replaced = [ticket_row(k, "silver", 2) for k in keys]
            upsert_values(conn, tables.tickets, COLUMNS, replaced, ["ticket_id"])
        assert stored(conn, tables) == {row[0]: row for row in replaced}


def test_statements_take_no_parameter_per_row(database_url: str) -> None:
    """A statement with a parameter per value cost PostgreSQL's driver and server tens of
    µs per row to convert and parse: past a few rows, values travel as arrays or COPY."""
    rows = [ticket_row(f"t{n}", "gold", 1) for n in range(500)]
    summary = {("gold", "P1", f"m{n}", 20_000): [1, 0, 0, 0, 0, 1] for n in range(40)}
    with generation(database_url) as (conn, tables):
        with write_transaction(conn), statements(conn) as seen:
            insert_tuples(conn, tables.tickets, COLUMNS, rows[:250])
            upsert_values(conn, tables.tickets, COLUMNS, rows, ["ticket_id"])
            apply_summary(conn, tables.compliance, summary)
            apply_summary(conn, tables.compliance, summary)
        assert stored(conn, tables) == {row[0]: row for row in rows}
        assert counters(conn, tables) == {key: [2, 0, 0, 0, 0, 2] for key in summary}
    assert seen
    assert max(sql.count("%s") + sql.count("?") for sql in seen) <= len(COLUMNS)
