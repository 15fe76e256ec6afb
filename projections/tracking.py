"""Where the projection stands: the live generation and the last position it processed.

The position is committed in the same transaction as the rows it produced, and
it is advanced with a compare-and-set (``WHERE position = old``), so a batch is
applied exactly once even if two workers ever raced: the loser's transaction
finds the position moved, writes nothing and rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Dialect, Engine, select, text, update

from projections.schema import (
    PROJECTION,
    REGISTRY,
    Tables,
    create_generation,
    missing_columns,
    registry,
    registry_metadata,
)
from projections.webhooks.tables import create_webhook_tables
from projections.write_gate import write_gate

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key serialising schema creation and generation switches.
SCHEMA_LOCK_KEY = 0x51A_C10C_0001


class GenerationChanged(Exception):
    """The live generation moved (a rebuild switched over) while a batch was prepared."""


class PositionMoved(Exception):
    """Another worker advanced the position first; this batch must not be applied."""


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


@contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """One read-write transaction; on SQLite it takes the write lock up front.

    A deferred SQLite transaction that reads and then writes fails at once when
    another connection committed in between (WAL snapshot), whatever the busy
    timeout; BEGIN IMMEDIATE waits for the lock instead, behind the write gate
    (projections/write_gate.py) so that the wait ends when the lock is free.
    """
    if conn.in_transaction():
        conn.rollback()
    sqlite = is_sqlite(conn)
    with write_gate(conn.engine.url.database if sqlite else None):
        if sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def lock_schema(conn: Connection) -> None:
    """Serialise schema changes between processes (PostgreSQL; SQLite has one writer)."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def ensure_schema(engine: Engine) -> int:
    """Create the registry and the first generation if missing; return the live generation."""
    with engine.connect() as conn, write_transaction(conn):
        lock_schema(conn)
        registry_metadata.create_all(conn, checkfirst=True)
        create_webhook_tables(conn)
        generation = conn.execute(
            select(registry.c.generation).where(registry.c.name == PROJECTION)
        ).scalar()
        if generation is None:
            generation = 1
            conn.execute(registry.insert().values(name=PROJECTION, generation=generation))
        tables = create_generation(conn, int(generation))
        missing = missing_columns(conn, tables)
        if missing:
            # Tables made by an older slaclock: following would fail on every batch.
            log.error(
                "projection generation %s lacks columns %s: run `slaclock rebuild`",
                generation,
                ", ".join(missing),
            )
        return int(generation)


def live_generation(conn: Connection, *, for_update: bool = False) -> int:
    """The generation readers use. ``for_update``: a switch-over's, held until commit."""
    sql = live_generation_sql(conn.dialect)
    if for_update and not is_sqlite(conn):
        sql += " FOR UPDATE"
    return generation_found(conn.exec_driver_sql(sql, (PROJECTION,)).scalar())


def live_generation_sql(dialect: Dialect) -> str:
    """The live generation's query, as SQL text for the driver (one parameter: the name).

    Plain SQL: the live follower and the listings ask this on every batch and read,
    and building the statement with SQLAlchemy cost more than the database's answer.
    """
    return f"SELECT generation FROM {REGISTRY} WHERE name = {_placeholder(dialect)}"


def generation_found(generation: object) -> int:
    if generation is None:
        raise LookupError("the projection schema does not exist yet (run ensure_schema)")
    assert isinstance(generation, int)
    return generation


def _mark(conn: Connection) -> str:
    return _placeholder(conn.dialect)


def _placeholder(dialect: Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def set_live_generation(conn: Connection, generation: int) -> None:
    conn.execute(
        update(registry).where(registry.c.name == PROJECTION).values(generation=generation)
    )


def read_position(conn: Connection, tables: Tables) -> int:
    position = conn.execute(
        select(tables.tracking.c.position).where(tables.tracking.c.name == PROJECTION)
    ).scalar()
    return int(position or 0)


def advance_live_position(conn: Connection, tables: Tables, old: int, new: int) -> None:
    """``advance_position`` only while ``tables`` are the live generation, in one statement.

    The registry's row is read in the same statement (on PostgreSQL under a share
    lock held until commit, so no switch-over can interleave), where a query of its
    own cost every live step a round trip. Raises GenerationChanged or PositionMoved.
    """
    mark = _mark(conn)
    lock = "" if is_sqlite(conn) else " FOR SHARE"
    live = f" AND {mark} = (SELECT generation FROM {REGISTRY} WHERE name = {mark}{lock})"
    guard_params = (tables.generation, PROJECTION)
    if _compare_and_set(conn, tables, old, new, guard=live, guard_params=guard_params):
        return
    if live_generation(conn) != tables.generation:
        raise GenerationChanged
    raise PositionMoved(f"position is no longer {old}")


def advance_position(conn: Connection, tables: Tables, old: int, new: int) -> None:
    """Move the position from ``old`` to ``new`` or raise PositionMoved."""
    if not _compare_and_set(conn, tables, old, new):
        raise PositionMoved(f"position is no longer {old}")


def _compare_and_set(
    conn: Connection,
    tables: Tables,
    old: int,
    new: int,
    *,
    guard: str = "",
    guard_params: tuple[object, ...] = (),
) -> bool:
    """Whether the position moved from ``old`` to ``new`` (and ``guard`` held)."""
    mark = _mark(conn)
    result = conn.exec_driver_sql(
        f"UPDATE {tables.tracking.name} SET position = {mark} "
        f"WHERE name = {mark} AND position = {mark}{guard}",
        (new, PROJECTION, old, *guard_params),
    )
    return bool(result.rowcount == 1)
