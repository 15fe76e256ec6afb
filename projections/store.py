"""Bulk reads and writes of projection rows (portable SQLite / PostgreSQL SQL)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
)

from projections.rows import Row, SummaryKey
from projections.schema import Tables

CHUNK = 500  # keys per IN (...) list; far below both databases' parameter limits
BIG_CHUNK = 5000  # for reads of thousands of keys at once (still far below them)
COPY_FROM_ROWS = 1000  # PostgreSQL upserts this big go through COPY
# PostgreSQL: new rows this many or more go by COPY, and statements of this many rows or
# more take their values as one array per column (``insert_unnest``). Below them, one
# short statement with a parameter per value costs less (benchmarks/row_writes.py).
COPY_NEW_FROM_ROWS = 4
UNNEST_FROM_ROWS = 8
_STAGED = "slaproj_upsert_staging"
_MAX_PARAMETERS = 60_000  # per PostgreSQL statement (its limit is 65,535)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_tickets(
    conn: Connection, tables: Tables, ids: Sequence[str], size: int = CHUNK
) -> dict[str, Row]:
    found: dict[str, Row] = {}
    for part in chunks(ids, size):
        for row in rows_by_ticket(conn, tables.tickets, part, ""):
            found[row["ticket_id"]] = row
    return found


def load_clock_values(
    conn: Connection, tables: Tables, ids: Sequence[str], size: int = CHUNK
) -> dict[str, list[tuple[Any, ...]]]:
    """The clock rows of these tickets as values in the table's column order (``CLOCK_COLUMNS``)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for part in chunks(ids, size):
        for values in _values_of(conn, tables.clocks, part, " ORDER BY ticket_id, metric"):
            found.setdefault(values[0], []).append(tuple(values))
    return found


def rows_by_ticket(
    conn: Connection, table: Table, ids: Sequence[str], suffix: str = ""
) -> Iterator[Row]:
    """The rows of these tickets as dicts, through the driver: a suspension reads thousands,
    and SQLAlchemy's row mappings cost more than the query (the columns need no conversion).
    ``suffix`` ends the statement (an ORDER BY, a FOR UPDATE)."""
    columns = [column.name for column in table.columns]
    for values in _values_of(conn, table, ids, suffix):
        yield dict(zip(columns, values, strict=True))


def _values_of(
    conn: Connection, table: Table, ids: Sequence[str], suffix: str
) -> list[tuple[Any, ...]]:
    columns = [column.name for column in table.columns]
    select_ = f"SELECT {', '.join(columns)} FROM {table.name} WHERE ticket_id"
    params: tuple[Any, ...] = tuple(ids)
    if conn.dialect.paramstyle == "qmark":
        sql = f"{select_} IN ({', '.join(['?'] * len(ids))}){suffix}"
    else:
        # One array parameter, not a list of thousands: the statement's text stays the
        # same, so psycopg converts it once, and the server parses no long list (new
        # tickets, which have no rows yet, cost the live follower 50 ms a batch that way).
        sql, params = f"{select_} = ANY(%s){suffix}", (list(ids),)
    raw: Any = conn.connection.dbapi_connection  # in the connection's current transaction
    cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    finally:
        cursor.close()
    return list(fetched)


def upsert(conn: Connection, table: Table, rows: Sequence[Row], keys: Sequence[str]) -> None:
    """Insert ``rows``, replacing every column of a row whose key already exists.

    Plain SQL through the driver, as ``insert_tuples``: the follower writes every
    batch this way, and building SQLAlchemy's upsert construct per call cost it
    more than the database's own work.
    """
    if rows:
        columns = list(rows[0])
        upsert_values(conn, table, columns, _values(columns, rows), keys)


def upsert_values(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
) -> None:
    """``upsert`` of rows given as values in ``columns`` order."""
    if not values:
        return
    if conn.dialect.name == "postgresql" and len(values) >= COPY_FROM_ROWS:
        upsert_by_copy(conn, table, columns, values, keys)
    else:
        insert_many(conn, table, columns, values, _on_conflict(columns, keys))


def _on_conflict(columns: Sequence[str], keys: Sequence[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"


def insert_many(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: Sequence[tuple[Any, ...]],
    tail: str = "",
) -> None:
    """``INSERT ... {tail}`` of every row: one statement per row on SQLite (executemany
    runs them in process); on PostgreSQL, where a statement per row cost a round trip's
    worth of server work each (a new ticket's rows took the live follower about a
    millisecond that way), one statement of all the rows: its values as arrays
    (``insert_unnest``) from ``UNNEST_FROM_ROWS`` rows, else as a multi-row VALUES."""
    if conn.dialect.paramstyle == "qmark":
        conn.exec_driver_sql(f"{_insert_sql(conn, table, columns)} {tail}", values)
        return
    if len(values) < UNNEST_FROM_ROWS or not insert_unnest(conn, table, columns, values, tail):
        insert_values(conn, table, columns, values, tail)


def insert_values(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: Sequence[tuple[Any, ...]],
    tail: str = "",
) -> None:
    """PostgreSQL: ``INSERT ... VALUES (...), (...) {tail}``, a parameter per value."""
    row = f"({', '.join(['%s'] * len(columns))})"
    for part in chunks(values, _MAX_PARAMETERS // len(columns)):
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES {', '.join([row] * len(part))} {tail}",
            tuple(value for values_ in part for value in values_),
        )


def insert_unnest(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: Sequence[tuple[Any, ...]],
    tail: str = "",
) -> bool:
    """PostgreSQL: ``INSERT ... SELECT * FROM unnest(one array per column) {tail}``;
    False (nothing done) when a column has no plain type (``binary_types``).

    A multi-row VALUES has a parameter per value: psycopg turns each placeholder into
    a numbered one in Python, and the server parses the long statement: 30 to 70 µs of
    client and 25 to 40 µs of server CPU per row of 14 columns (most of the live
    follower's CPU under single-event ingest). This statement's text depends only on
    the columns, so psycopg converts it once, and the arrays travel in the binary
    format (a third of the client's CPU of text arrays: benchmarks/row_writes.py).
    """
    types = binary_types(table, columns)
    if types is None:
        return False
    arrays = ", ".join(f"%b::{kind}[]" for kind in types)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) {tail}",
        tuple(list(column) for column in zip(*values, strict=True)),
    )
    return True


def _values(columns: Sequence[str], rows: Sequence[Row]) -> list[tuple[Any, ...]]:
    """The rows as tuples in ``columns`` order (one C-level call per row, not a generator)."""
    if len(columns) == 1:
        return [(row[columns[0]],) for row in rows]
    pick = itemgetter(*columns)
    return [pick(row) for row in rows]


def upsert_by_copy(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
) -> None:
    """PostgreSQL: many rows reach the table far faster by COPY into a temporary table,
    then one upsert from it, than in any statement (a suspension rewrites the clocks of
    every ticket of its contract at once)."""
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {_STAGED} ON COMMIT DROP AS "
        f"SELECT {', '.join(columns)} FROM {table.name} WITH NO DATA"
    )
    copy_rows(conn, _STAGED, table, columns, values)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT {', '.join(columns)} FROM {_STAGED} {_on_conflict(columns, keys)}"
    )
    conn.exec_driver_sql(f"DROP TABLE {_STAGED}")


def _insert_sql(conn: Connection, table: Table, columns: Sequence[str]) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(columns))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"


def insert_tuples(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert rows known to be new, through the driver (no per-row SQLAlchemy work): by
    COPY on PostgreSQL from ``COPY_NEW_FROM_ROWS`` rows, else as ``insert_many`` (a COPY
    costs a round trip more than one statement, which only a few rows outweigh)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_NEW_FROM_ROWS:
        copy_rows(conn, table.name, table, columns, rows)
        return
    insert_many(conn, table, columns, rows)


def copy_rows(
    conn: Connection,
    into: str,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """PostgreSQL COPY through psycopg of ``rows`` into ``into`` (``table``, or a staging
    table shaped like it), in the connection's current transaction; in the binary format
    when every column has a plain type (``binary_types``)."""
    raw: Any = conn.connection.dbapi_connection
    statement = f"COPY {into} ({', '.join(columns)}) FROM STDIN"
    types = binary_types(table, columns)
    if types is not None:
        statement += " (FORMAT BINARY)"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        if types is not None:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)


# Subclasses before their bases: Text is a String, BigInteger an Integer.
_BINARY_TYPES = (
    (BigInteger, "int8"),
    (Integer, "int4"),
    (Text, "text"),
    (String, "varchar"),
    (LargeBinary, "bytea"),
)


def binary_types(table: Table, columns: Sequence[str]) -> list[str] | None:
    """The PostgreSQL types of ``columns`` for a binary COPY; None when one has no plain type.

    Binary COPY refuses a value of another type than its column's (an int for a
    text column), which text COPY would have written as text: every value here
    comes from validated event fields or the evaluator's own strings and numbers.
    """
    names = []
    for name in columns:
        kind = table.c[name].type
        found = next((pg for base, pg in _BINARY_TYPES if isinstance(kind, base)), None)
        if found is None:
            return None
        names.append(found)
    return names


def insert_rows(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    if rows:
        columns = list(rows[0])
        insert_tuples(conn, table, columns, _values(columns, rows))


def delete_clock_values(conn: Connection, table: Table, clocks: Sequence[tuple[Any, ...]]) -> None:
    """Delete clock rows given as values (their key is the first two: ticket and metric)."""
    if clocks:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = f"DELETE FROM {table.name} WHERE ticket_id = {mark} AND metric = {mark}"
        conn.exec_driver_sql(sql, [values[:2] for values in clocks])


def delete_keys(conn: Connection, table: Table, keys: Sequence[str], rows: Iterable[Row]) -> None:
    params = [{f"k_{name}": row[name] for name in keys} for row in rows]
    if params:
        where = and_(*(table.c[name] == bindparam(f"k_{name}") for name in keys))
        conn.execute(delete(table).where(where), params)


_SUMMARY_KEY = ("plan", "priority", "metric", "opened_day")
_COUNTS = ("met", "breached", "pending", "suspended", "open_breach", "running")


def apply_summary(conn: Connection, table: Table, deltas: dict[SummaryKey, list[int]]) -> None:
    """Add ``deltas`` to the compliance counters; rows that fall to zero are removed.

    Removing empty rows keeps the table a function of the clocks alone, however
    the log was cut into batches (a rebuild must match the live rows exactly).
    Plain SQL through the driver, as ``upsert_values``: every follower batch moves
    some counters, and SQLAlchemy's upsert construct cost more than the writes.
    """
    if not deltas:
        return
    rows = [(*key, *counts) for key, counts in sorted(deltas.items())]
    added = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in _COUNTS)
    conflict = f"ON CONFLICT ({', '.join(_SUMMARY_KEY)}) DO UPDATE SET {added}"
    insert_many(conn, table, _SUMMARY_KEY + _COUNTS, rows, conflict)
    # Counters never go below zero, so only a row that some count fell in can be empty:
    # a step of new tickets only adds, and needs no delete (two statements a step).
    fallen = [key for key, counts in sorted(deltas.items()) if min(counts) < 0]
    if not fallen:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    keyed = " AND ".join(f"{name} = {mark}" for name in _SUMMARY_KEY)
    empty = " AND ".join(f"{name} = 0" for name in _COUNTS)
    conn.exec_driver_sql(f"DELETE FROM {table.name} WHERE {keyed} AND {empty}", fallen)
