"""The ticket and breach listings, read from the live generation with keyset paging."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import BigInteger, Connection, Engine, Select, bindparam, or_, select, tuple_
from sqlalchemy.exc import OperationalError, ProgrammingError

from domain.business_time import from_us, to_us
from projections import cursor
from projections.live import instant, live_clock
from projections.ports import Now
from projections.rawreads import RawSnapshot, StatementCache, raw_snapshot, repeatable_read
from projections.rows import OPEN_STATUSES
from projections.schema import Tables, tables_for
from projections.tracking import ensure_schema, is_sqlite, live_generation

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
    def __init__(self, engine: Engine, now: Now) -> None:
        self._engine = engine
        self._now = now
        self._schema_ready = False
        self._statements = StatementCache()

    def read(self, query: Callable[[Connection, Tables], R]) -> R:
        """Run ``query`` on the live generation, in one snapshot."""

        def attempt() -> R:
            with self._engine.connect() as conn, snapshot(conn):
                return query(conn, tables_for(live_generation(conn)))

        return self._retried(attempt)

    def read_raw(self, query: Callable[[RawSnapshot, Tables], R]) -> R:
        """``read`` on the driver's cursor with statements compiled once (projections.rawreads)."""

        def attempt() -> R:
            with raw_snapshot(self._engine, self._statements) as read:
                return query(read, tables_for(read.live_generation()))

        return self._retried(attempt)

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
        key = asdict(filters)
        page = cursor.decode("tickets", key, token)
        now_us = page.now_us if page else self.now_us()
        given = tuple(name for name, value in key.items() if value is not None)
        values = {**{name: key[name] for name in given}, "limit": limit + 1, "page": limit}
        if page:
            values["after"] = page.after[0]

        def query(read: RawSnapshot, tables: Tables) -> Page:
            shape = (tables.generation, given, page is not None)
            rows = read.rows(("tickets", *shape), lambda: _tickets_query(tables, shape), values)
            more = len(rows) > limit
            rows = rows[:limit]
            clocks: dict[str, list[dict[str, Any]]] = {}
            if rows:
                build = lambda: _page_clocks_query(tables, shape)  # noqa: E731
                for clock in read.rows(("ticket_clocks", *shape), build, values):
                    clocks.setdefault(clock["ticket_id"], []).append(clock)
            items = [_ticket_item(r, clocks.get(r["ticket_id"], []), now_us) for r in rows]
            after = (rows[-1]["ticket_id"],) if more else None
            return Page(items, _next("tickets", key, after, now_us), from_us(now_us))

        return self.read_raw(query)

    # --- GET /v1/breaches --------------------------------------------------------

    def breaches(self, filters: BreachFilters, limit: int, token: str | None) -> Page:
        key = asdict(filters)
        page = cursor.decode("breaches", key, token)
        now_us = page.now_us if page else self.now_us()
        given = tuple(name for name in _BREACH_NAMES if key[name] is not None)
        values = {name: key[name] for name in given}
        open1, open2 = OPEN_STATUSES  # the statement names two
        values.update(now=now_us, limit=limit + 1, open1=open1, open2=open2)
        if page:
            values.update(zip(_AFTER, page.after, strict=True))

        def query(read: RawSnapshot, tables: Tables) -> Page:
            shape = (tables.generation, filters.state, given, filters.open_only, page is not None)
            build = lambda: _breaches_query(tables, shape)  # noqa: E731
            rows = read.rows(("breaches", *shape), build, values)
            more = len(rows) > limit
            rows = rows[:limit]
            sort = _BREACH_SORT[filters.state]
            after = tuple(rows[-1][name] for name in sort) if more else None
            items = [_breach_item(r, now_us) for r in rows]
            return Page(items, _next("breaches", key, after, now_us), from_us(now_us))

        return self.read_raw(query)


_BREACH_NAMES = ("metric", "plan", "priority", "customer")
_BREACH_SORT = {
    "breached": ("breach_from_us", "ticket_id", "metric"),
    "at_risk": ("running_due_us", "ticket_id", "metric"),
}
_AFTER = ("after0", "after1", "after2")
BreachShape = tuple[int, str, tuple[str, ...], bool, bool]


def _breaches_query(tables: Tables, shape: BreachShape) -> Select[Any]:
    """Breached clocks newest breach first, or at-risk ones soonest due first, from ``now``."""
    _generation, state, given, open_only, paged = shape
    c = tables.clocks
    sort = [c.c[name] for name in _BREACH_SORT[state]]
    after = tuple_(*(bindparam(name) for name in _AFTER))
    now = bindparam("now", type_=BigInteger)
    if state == "breached":
        q = select(c).where(c.c.breach_from_us <= now)
        q = q.order_by(*(col.desc() for col in sort))
        if paged:
            q = q.where(tuple_(*sort) < after)
    else:
        q = select(c).where(c.c.running_due_us > now, c.c.warn_at_us <= now).order_by(*sort)
        if paged:
            q = q.where(tuple_(*sort) > after)
    for name in given:
        q = q.where(c.c[name] == bindparam(name))
    if open_only:
        q = q.where(or_(c.c.status == bindparam("open1"), c.c.status == bindparam("open2")))
    return q.limit(bindparam("limit"))


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


def _tickets_query(tables: Tables, shape: TicketShape) -> Select[Any]:
    return _page_of_tickets(tables, shape, *_TICKET_READ).limit(bindparam("limit"))


def _page_clocks_query(tables: Tables, shape: TicketShape) -> Select[Any]:
    """The clocks of the page's tickets (the first ``page`` of them), by ticket and metric."""
    c = tables.clocks
    page = _page_of_tickets(tables, shape, "ticket_id").limit(bindparam("page"))
    return select(c).where(c.c.ticket_id.in_(page)).order_by(c.c.ticket_id, c.c.metric)


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
