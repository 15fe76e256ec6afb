"""Listing reads of one statement each, on a thread (any database) or awaited (PostgreSQL).

A listing is one statement that also reads the live generation (``checked_rows``)
and a function that makes its page of the rows: ``OneStatement``. The statement
runs on the generation the last such read found, with no transaction around it,
and again on the live one while that has changed: each pass follows a switch
committed since the statement before it, and a switch ends a rebuild, so a
second pass is rare and a third rarer still.

On PostgreSQL the server's event loop awaits the statement on a connection of
its own (``AsyncDriver``) instead of handing it to a thread and back. At 500
writes and their reads a second, those two hops, each a wait for the GIL behind
the loop and the writer, were most of a read's time: 4 to 6 ms to reach the
thread, 9 to 12 ms in it for two round trips, 5 to 7 ms back (p50, instrumented).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Engine, Subquery, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.sql.expression import ClauseElement as Executable

from projections.reads.rawreads import StatementCache, raw_statement
from projections.schema import PROJECTION, Tables, registry, tables_for
from projections.tracking import generation_found, live_generation_sql

R = TypeVar("R")
Rows = list[dict[str, Any]]
# A statement: its shape's key in the cache, how to build it, its values.
Statement = tuple[Hashable, Callable[[], Executable], Mapping[str, Any]]

LIVE = "live_generation"


@dataclass(frozen=True)
class OneStatement(Generic[R]):
    """A read of one statement: the statement on a generation's tables, and the answer
    made of its rows (which raises GenerationMoved if they were not the live ones)."""

    statement: Callable[[Tables], Statement]
    answer: Callable[[Rows, Tables], R]


class AsyncDriver(Protocol):
    """A statement awaited on the event loop: its column names and its rows.

    Errors come as SQLAlchemy's (``OperationalError``...), as on the thread."""

    async def fetch(self, sql: str, params: Any) -> tuple[list[str], Sequence[tuple[Any, ...]]]:
        """Run ``sql`` (the PostgreSQL dialect's text) with ``params`` outside a transaction."""
        ...


class GenerationMoved(Exception):
    """A one-statement read ran on a generation that is no longer the live one."""

    def __init__(self, generation: int) -> None:
        super().__init__(f"the live generation is now {generation}")
        self.generation = generation


def live_row() -> Subquery:
    """The registry's row of the live generation, for a page to be joined to."""
    live = select(registry.c.generation.label(LIVE)).where(registry.c.name == PROJECTION)
    return live.subquery("live")


def checked_rows(rows: Rows, tables: Tables) -> Rows:
    """``rows``, read from ``tables``' generation if it was the live one as they were read."""
    live = generation_found(rows[0][LIVE] if rows else None)
    if live != tables.generation:
        raise GenerationMoved(live)
    return rows


class StatementReader:
    """Runs OneStatement reads; remembers the live generation between them."""

    def __init__(self, engine: Engine, driver: AsyncDriver | None = None) -> None:
        self._engine = engine
        self._driver = driver if engine.dialect.name == "postgresql" else None
        self._statements = StatementCache()
        # The live generation the last read found (None: not known yet).
        self._generation: int | None = None

    @property
    def awaits(self) -> bool:
        """Whether ``read_async`` is there (PostgreSQL with a driver for the loop)."""
        return self._driver is not None

    def read(self, query: OneStatement[R]) -> R:
        """On the calling thread, on a pooled connection's driver cursor."""
        with raw_statement(self._engine, self._statements) as read:
            while True:
                if self._generation is None:
                    self._generation = read.live_generation()
                tables = tables_for(self._generation)
                key, build, values = query.statement(tables)
                try:
                    rows = read.rows(key, build, values)
                except (OperationalError, ProgrammingError):
                    self._generation = None  # its tables may be gone: ask again
                    raise
                try:
                    return query.answer(rows, tables)
                except GenerationMoved as moved:
                    self._generation = moved.generation

    async def read_async(self, query: OneStatement[R]) -> R:
        """Awaited on the event loop (``awaits`` must be true)."""
        driver = self._driver
        if driver is None:
            raise RuntimeError("no driver to await reads on")
        while True:
            if self._generation is None:
                sql = live_generation_sql(self._engine.dialect)
                _, found = await driver.fetch(sql, (PROJECTION,))
                self._generation = generation_found(found[0][0] if found else None)
            tables = tables_for(self._generation)
            key, build, values = query.statement(tables)
            compiled = self._statements.get(self._engine.dialect, key, build)
            try:
                names, rows = await driver.fetch(compiled.sql, compiled.params(values))
            except (OperationalError, ProgrammingError):
                self._generation = None
                raise
            try:
                return query.answer([dict(zip(names, r, strict=True)) for r in rows], tables)
            except GenerationMoved as moved:
                self._generation = moved.generation
