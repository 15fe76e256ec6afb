"""The ticket and breach listings, read from the live generation with keyset paging."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Select,
    bindparam,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.exc import OperationalError, ProgrammingError

from domain.business_time import from_us, to_us
from projections.ports import Now
from projections.reads import cursor
from projections.reads.live import instant, live_clock
from projections.reads.rawreads import repeatable_read
from projections.reads.statement_reads import (
    LIVE,
    AsyncDriver,
    OneStatement,
    Rows,
    Statement,
    StatementReader,
    checked_rows,
    live_row,
)
from projections.rows import OPEN_STATUSES
from projections.schema import Tables, tables_for
from projections.tracking import (
    ensure_schema,
    is_sqlite,
    live_generation,
)

R = TypeVar("R")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    evaluated_at: datetime


@dataclass(frozen=True)
class TicketFilters:
    plan: str | None = None
    customer: str | None = None
    priority: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class BreachFilters:
    state: Literal["breached", "at_risk"] = "breached"
    metric: str | None = None
    plan: str | None = None
    priority: str | None = None
    customer: str | None = None
    open_only: bool = False


@contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """One consistent read: the generation and its rows come from the same snapshot."""
    if is_sqlite(conn):
        conn.exec_driver_sql("BEGIN")
    else:
        repeatable_read(conn)
    try:
        yield conn
    finally:
        conn.rollback()


class ProjectionReader:
    def __init__(self, engine: Engine, now: Now, driver: AsyncDriver | None = None) -> None:
        """``driver``: PostgreSQL listings are awaited on the event loop through it."""
        self._engine = engine
        self._now = now
        self._schema_ready = False
        self._one = StatementReader(engine, driver)

    def read(self, query: Callable[[Connection, Tables], R]) -> R:
        """Run ``query`` on the live generation, in one snapshot."""

        def attempt() -> R:
            with self._engine.connect() as conn, snapshot(conn):
                return query(conn, tables_for(live_generation(conn)))

        return self._retried(attempt)

    def read_statement(self, query: OneStatement[R]) -> R:
        """Run a one-statement read (projections.reads.statement_reads) on this thread."""
        return self._retried(lambda: self._one.read(query))

    @property
    def awaits_reads(self) -> bool:
        """Whether listings may be awaited on the event loop (``tickets_async``...)."""
        return self._schema_ready and self._one.awaits

    async def read_statement_async(self, query: OneStatement[R]) -> R:
        """``read_statement`` awaited on the event loop (``awaits_reads`` must be true)."""
        try:
            return await self._one.read_async(query)
        except (OperationalError, ProgrammingError):
            return await self._one.read_async(query)

    def _retried(self, attempt: Callable[[], R]) -> R:
        """``attempt()``, once more if it failed: a switch may have dropped its tables."""
        if not self._schema_ready:
            ensure_schema(self._engine)
            self._schema_ready = True
        try:
            return attempt()
        except (OperationalError, ProgrammingError):
            return attempt()

    @property
    def reads_inline(self) -> bool:
        """Whether a small read may run on the caller's event loop.

        Only on SQLite, once the schema is known: its readers (WAL) wait for no lock
        and no network, so a one-page read costs what it computes. A PostgreSQL read
        can wait on a server that stalls, which must never stall the loop.
        """
        return self._schema_ready and self._engine.dialect.name == "sqlite"

    def now_us(self) -> int:
        return to_us(self._now())

    # --- GET /v1/tickets ---------------------------------------------------------

    def tickets(self, filters: TicketFilters, limit: int, token: str | None) -> Page:
        return self.read_statement(self._tickets(filters, limit, token))

    async def tickets_async(self, filters: TicketFilters, limit: int, token: str | None) -> Page:
        return await self.read_statement_async(self._tickets(filters, limit, token))

    def _tickets(self, filters: TicketFilters, limit: int, token: str | None) -> OneStatement[Page]:
        key = asdict(filters)
        page = cursor.decode("tickets", key, token)
        now_us = page.now_us if page else self.now_us()
        given = tuple(name for name, value in key.items() if value is not None)
        values = {**{name: key[name] for name in given}, "limit": limit + 1}
        if page:
            values["after"] = page.after[0]

        def statement(tables: Tables) -> Statement:
            shape = (tables.generation, given, page is not None)
            return ("tickets", *shape), lambda: _ticket_page_query(tables, shape), values

        def answer(rows: Rows, tables: Tables) -> Page:
            found = _tickets_with_clocks(checked_rows(rows, tables))
            more = len(found) > limit
            found = found[:limit]
            items = [_ticket_item(row, clocks, now_us) for row, clocks in found]
            after = (found[-1][0]["ticket_id"],) if more else None
            return Page(items, _next("tickets", key, after, now_us), from_us(now_us))

        return OneStatement(statement, answer)

    # --- GET /v1/breaches --------------------------------------------------------

    def breaches(self, filters: BreachFilters, limit: int, token: str | None) -> Page:
        return self.read_statement(self._breaches(filters, limit, token))

    async def breaches_async(self, filters: BreachFilters, limit: int, token: str | None) -> Page:
        return await self.read_statement_async(self._breaches(filters, limit, token))

    def _breaches(
        self, filters: BreachFilters, limit: int, token: str | None
    ) -> OneStatement[Page]:
        key = asdict(filters)
        page = cursor.decode("breaches", key, token)
        now_us = page.now_us if page else self.now_us()
        given = tuple(name for name in _BREACH_NAMES if key[name] is not None)
        values = {name: key[name] for name in given}
        open1, open2 = OPEN_STATUSES  # the statement names two
        values.update(now=now_us, limit=limit + 1, open1=open1, open2=open2)
        if page:
            values.update(zip(_AFTER, page.after, strict=True))

        def statement(tables: Tables) -> Statement:
            shape = (tables.generation, filters.state, given, filters.open_only, page is not None)
            return ("breaches", *shape), lambda: _breaches_page_query(tables, shape), values

        def answer(found: Rows, tables: Tables) -> Page:
            rows = [row for row in checked_rows(found, tables) if row["ticket_id"] is not None]
            more = len(rows) > limit
            rows = rows[:limit]
            sort = _BREACH_SORT[filters.state]
            after = tuple(rows[-1][name] for name in sort) if more else None
            items = [_breach_item(r, now_us) for r in rows]
            return Page(items, _next("breaches", key, after, now_us), from_us(now_us))

        return OneStatement(statement, answer)


_BREACH_NAMES = ("metric", "plan", "priority", "customer")
_BREACH_SORT = {
    "breached": ("breach_from_us", "ticket_id", "metric"),
    "at_risk": ("running_due_us", "ticket_id", "metric"),
}
_AFTER = ("after0", "after1", "after2")
BreachShape = tuple[int, str, tuple[str, ...], bool, bool]


def _breaches_page_query(tables: Tables, shape: BreachShape) -> Select[Any]:
    """``_breaches_query`` with the live generation, in one statement (an empty page: one
    row, the generation alone)."""
    live = live_row()
    page = _breaches_query(tables, shape).subquery("page")
    sort = [page.c[name] for name in _BREACH_SORT[shape[1]]]
    order = [col.desc() for col in sort] if shape[1] == "breached" else sort
    joined = live.outerjoin(page, true())
    return select(live.c[LIVE], *page.c).select_from(joined).order_by(*order)


def _breaches_query(tables: Tables, shape: BreachShape) -> Select[Any]:
    """Breached clocks newest breach first, or at-risk ones soonest due first, from ``now``."""
    _generation, state, _given, _open_only, paged = shape
    c = tables.clocks
    now = bindparam("now", type_=BigInteger)
    if state == "breached":
        return _breached_query(tables, shape)
    sort = [c.c[name] for name in _BREACH_SORT[state]]
    q = select(c).where(c.c.running_due_us > now, c.c.warn_at_us <= now).order_by(*sort)
    if paged:
        q = q.where(tuple_(*sort) > _after())
    return _narrowed(q, tables, shape).limit(bindparam("limit"))


def _breached_query(tables: Tables, shape: BreachShape) -> Select[Any]:
    """Breached by ``now``, newest first: the breaches recorded at an evaluation merged
    with the running clocks whose due instant has passed since.

    Each part is read newest first from its own partial index (clocks_breach or
    clocks_plan_breach, and clocks_due), so neither holds the clocks the other
    finds, nor any met clock. For a running clock ``breach_from_us`` is its
    ``running_due_us``, so the merged order is the one ``breach_from_us`` gives.
    """
    c = tables.clocks
    now = bindparam("now", type_=BigInteger)
    recorded = select(c).where(c.c.breached_at_us.is_not(None), c.c.breach_from_us <= now)
    overdue = select(c).where(c.c.running_due_us <= now)
    parts = [
        _newest_first(recorded, c.c.breach_from_us, tables, shape),
        _newest_first(overdue, c.c.running_due_us, tables, shape),
    ]
    merged = union_all(*parts).subquery("breached")
    order = [merged.c[name].desc() for name in _BREACH_SORT["breached"]]
    return select(merged).order_by(*order).limit(bindparam("limit"))


def _newest_first(q: Select[Any], lead: Any, tables: Tables, shape: BreachShape) -> Select[Any]:
    """One part of the breached listing, a page of it newest first from ``lead``'s index."""
    c = tables.clocks
    sort = (lead, c.c.ticket_id, c.c.metric)
    if shape[-1]:  # a later page
        q = q.where(tuple_(*sort) < _after())
    q = _narrowed(q, tables, shape).order_by(*(key.desc() for key in sort))
    return select(q.limit(bindparam("limit")).subquery())


def _after() -> Any:
    return tuple_(*(bindparam(name) for name in _AFTER))


def _narrowed(q: Select[Any], tables: Tables, shape: BreachShape) -> Select[Any]:
    """``q`` with the listing's filters: the names given, and open tickets only."""
    _generation, _state, given, open_only, _paged = shape
    c = tables.clocks
    for name in given:
        q = q.where(c.c[name] == bindparam(name))
    if open_only:
        q = q.where(or_(c.c.status == bindparam("open1"), c.c.status == bindparam("open2")))
    return q


def _next(
    listing: str, key: Mapping[str, Any], after: tuple[Any, ...] | None, now_us: int
) -> str | None:
    return None if after is None else cursor.encode(listing, key, after, now_us)


_TICKET_READ = (
    "ticket_id", "plan", "policy_version", "priority", "customer", "kind", "status",
    "opened_at_us", "last_event_at_us", "event_count", "last_position",
)  # fmt: skip
TicketShape = tuple[int, tuple[str, ...], bool]  # generation, filters given, a later page


def _page_of_tickets(tables: Tables, shape: TicketShape, *columns: str) -> Select[Any]:
    """The listing's page of tickets (``limit`` bound by the caller), by ticket_id."""
    _generation, given, paged = shape
    t = tables.tickets
    q = select(*(t.c[name] for name in columns))
    for name in given:
        q = q.where(t.c[name] == bindparam(name))
    if paged:
        q = q.where(t.c.ticket_id > bindparam("after"))
    return q.order_by(t.c.ticket_id)


def _ticket_page_query(tables: Tables, shape: TicketShape) -> Select[Any]:
    """The page of tickets (``limit`` of them) with their clocks, and the live generation,
    in one statement: a row per clock by ticket and metric (a ticket without clocks: one
    row, its clock columns null; an empty page: one row, the generation alone)."""
    live = live_row()
    page = _page_of_tickets(tables, shape, *_TICKET_READ).limit(bindparam("limit"))
    tickets = page.subquery("page")
    c = tables.clocks
    joined = live.outerjoin(tickets, true()).outerjoin(c, c.c.ticket_id == tickets.c.ticket_id)
    clocks = (c.c[name].label(_CLOCK + name) for name in _CLOCK_READ)
    return (
        select(live.c[LIVE], *tickets.c, *clocks)
        .select_from(joined)
        .order_by(tickets.c.ticket_id, c.c.metric)
    )


_CLOCK = "clock_"
_CLOCK_READ = (
    "metric", "calendar", "state", "outcome", "target_seconds", "elapsed_seconds",
    "evaluated_at_us", "suspended_seconds", "started_at_us", "due_at_us", "warn_at_us",
    "breached_at_us", "stopped_at_us", "running_due_us",
)  # fmt: skip


def _tickets_with_clocks(
    rows: list[dict[str, Any]],
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The joined rows of ``_ticket_page_query`` as each ticket's row and its clocks."""
    found: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for row in rows:
        if row["ticket_id"] is None:
            continue
        if not found or found[-1][0]["ticket_id"] != row["ticket_id"]:
            found.append(({name: row[name] for name in _TICKET_READ}, []))
        if row[_CLOCK + "metric"] is not None:
            found[-1][1].append({name: row[_CLOCK + name] for name in _CLOCK_READ})
    return found


def clock_item(row: Mapping[str, Any], now_us: int) -> dict[str, Any]:
    live = live_clock(row, now_us)
    return {
        "metric": row["metric"],
        "calendar": row["calendar"],
        "state": row["state"],
        "outcome": live.outcome,
        "at_risk": live.at_risk,
        "target_seconds": row["target_seconds"],
        "elapsed_seconds": row["elapsed_seconds"],
        "elapsed_as_of": instant(row["evaluated_at_us"]),
        "suspended_seconds": row["suspended_seconds"],
        "started_at": instant(row["started_at_us"]),
        "due_at": instant(row["due_at_us"]),
        "warn_at": instant(row["warn_at_us"]),
        "breached_at": instant(live.breached_at_us),
        "stopped_at": instant(row["stopped_at_us"]),
    }


def _ticket_item(
    row: Mapping[str, Any], clocks: Sequence[Mapping[str, Any]], now_us: int
) -> dict[str, Any]:
    return {
        "ticket_id": row["ticket_id"],
        "plan": row["plan"],
        "policy_version": row["policy_version"],
        "priority": row["priority"],
        "customer": row["customer"],
        "kind": row["kind"],
        "status": row["status"],
        "opened_at": instant(row["opened_at_us"]),
        "last_event_at": instant(row["last_event_at_us"]),
        "version": row["event_count"],
        "position": row["last_position"],
        "clocks": [clock_item(c, now_us) for c in clocks],
    }


def _breach_item(row: Mapping[str, Any], now_us: int) -> dict[str, Any]:
    return {
        "ticket_id": row["ticket_id"],
        "plan": row["plan"],
        "priority": row["priority"],
        "customer": row["customer"],
        "status": row["status"],
        **clock_item(row, now_us),
    }
