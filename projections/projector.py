"""Folds a batch of events into one generation's tables, inside the caller's transaction.

Within a batch each touched ticket is evaluated once, after its last event:
the rows are a function of the ticket's events and the versions known, so this
gives what one-at-a-time processing would. A policy or calendar version ends
the run of ticket events before it (they are written first), so the versions a
ticket is evaluated with never depend on where the batches were cut.

The in-memory catalog changes as versions are folded; if the transaction rolls
back, the caller must discard this Projector and load a fresh one.

A contract event that clocks depend on (start, calendar amendment, suspension,
reinstatement) likewise ends the run before it, and re-evaluates the tickets
bound to that contract that it could change: those not settled before its
instant (a late suspension reaches back to every ticket it overlaps).

A ticket whose evaluation raises is set aside (``projections.quarantine``)
instead of failing the batch: one ticket never stops the others. Each new
version retries every ticket set aside.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from domain.business_time import from_us
from domain.contract_events import ContractEvent
from domain.events import CalendarVersionDefined, PolicyVersionDefined
from projections.batch import Batch, collected, opens_here, ticket_facts
from projections.catalog import CatalogRow, ContractRow, ProjectionCatalog
from projections.facts import Fact, loads, merge
from projections.quarantine import (
    QUARANTINE_COLUMNS,
    any_quarantined,
    load_quarantined,
    quarantine_values,
    quarantined_ids,
    release,
)
from projections.rows import (
    CLOCK_COLUMNS,
    Row,
    Values,
    clock_changes,
    evaluate_ticket_rows,
    row_diff,
    value_deltas,
)
from projections.schema import Tables
from projections.store import (
    BIG_CHUNK,
    apply_summary,
    chunks,
    delete_clock_values,
    delete_keys,
    insert_rows,
    insert_tuples,
    load_clock_values,
    load_tickets,
    upsert,
    upsert_values,
)

_CLOCK_KEY = ("ticket_id", "metric")
READ_AHEAD = 10_000  # tickets re-evaluated per round of reads, then writes


class ClockObserver(Protocol):
    """Told of every clock row change, in the transaction that makes it (webhooks' outbox)."""

    def clocks_changed(
        self, conn: Connection, pairs: Iterable[tuple[Values | None, Values | None]]
    ) -> None:
        """Each changed clock before and after, as values in ``CLOCK_COLUMNS`` order."""
        ...


@dataclass
class _Evaluations:
    """One write's worth of evaluated tickets: their rows, or their quarantine rows."""

    results: list[tuple[str, Row, list[Values]]] = field(default_factory=list)
    failed: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared:
    """A batch of ticket events read and evaluated before its write transaction."""

    span: tuple[int, int, int]  # first and last position, and length, of the batch
    done: _Evaluations
    held: dict[str, Row]
    old_clocks: dict[str, list[Values]]
    stored: Collection[str]  # the batch's tickets that have a row


def _span(batch: Batch) -> tuple[int, int, int]:
    return (batch[0][0], batch[-1][0], len(batch))


class Projector:
    def __init__(
        self,
        tables: Tables,
        catalog: ProjectionCatalog,
        *,
        holds_quarantined: bool = True,
        observer: ClockObserver | None = None,
    ) -> None:
        self.tables = tables
        self.catalog = catalog
        self.observer = observer
        # False while the quarantine is known empty: batches then skip looking in it.
        self.holds_quarantined = holds_quarantined
        self._prepared: Prepared | None = None

    @classmethod
    def load(
        cls, conn: Connection, tables: Tables, observer: ClockObserver | None = None
    ) -> Projector:
        catalog = ProjectionCatalog.load(conn, tables)
        held = any_quarantined(conn, tables)
        return cls(tables, catalog, holds_quarantined=held, observer=observer)

    def prepare(self, conn: Connection, batch: Batch) -> None:
        """Read and evaluate a batch of ticket events ahead of ``apply``, outside its
        write transaction.

        On SQLite the write transaction holds the database's one write lock, which
        ingest needs for every commit: evaluating inside it kept ingest waiting for
        the projection's CPU work, not only for its writes. This worker is the only
        writer of its generation's rows (the position's compare-and-set in ``apply``'s
        transaction proves it still is), so what is read here is still true there.
        A batch with versions or contract events is left to ``apply`` whole: folding
        them reads what the same transaction wrote.
        """
        self._prepared = None
        touched = ticket_facts(batch)
        if touched is None or not touched[0]:
            return
        done, held, stored = self._evaluated(conn, *touched)
        # A ticket with no row has no clocks either: new tickets need no read.
        ids = [ticket_id for ticket_id, _, _ in done.results if ticket_id in stored]
        old_clocks = load_clock_values(conn, self.tables, ids)
        self._prepared = Prepared(_span(batch), done, held, old_clocks, stored)

    def evaluated_ahead(self, batch: Batch) -> Prepared | None:
        """What ``prepare`` makes of a batch in which every ticket opens, made with no
        read (no connection: a thread may run it while the batch before is written);
        None for any other batch. The catalog must not change meanwhile: only a batch
        of ticket events may be written while this runs."""
        touched = ticket_facts(batch)
        if touched is None or not touched[0]:
            return None
        facts, positions = touched
        if not all(opens_here(new) for new in facts.values()):
            return None
        done = _Evaluations()
        for ticket_id in sorted(facts):
            self._evaluate(done, ticket_id, merge([], facts[ticket_id]), positions[ticket_id])
        return Prepared(_span(batch), done, {}, {}, ())

    def use(self, prepared: Prepared) -> None:
        """Take a batch's ``evaluated_ahead`` as if ``prepare`` had made it."""
        self._prepared = prepared

    @property
    def prepared(self) -> bool:
        """Whether ``apply`` will write a prepared batch (one of ticket events only)."""
        return self._prepared is not None

    def apply(self, conn: Connection, batch: Batch) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None and batch and prepared.span == _span(batch):
            done, held = prepared.done, prepared.held
            self._write(conn, done, held, None, prepared.old_clocks, stored=prepared.stored)
            return
        touched: dict[str, list[Fact]] = {}
        positions: dict[str, int] = {}
        for position, event in batch:
            if collected(touched, positions, position, event):
                continue
            if isinstance(event, CalendarVersionDefined | PolicyVersionDefined):
                self._fold_tickets(conn, touched, positions)
                touched, positions = {}, {}
                self._fold_version(conn, event, position)
            elif isinstance(event, ContractEvent) and (row := ContractRow.of(event, position)):
                self._fold_tickets(conn, touched, positions)
                touched, positions = {}, {}
                self._fold_contract(conn, row)
        self._fold_tickets(conn, touched, positions)

    # --- ticket events ---------------------------------------------------------

    def _fold_tickets(
        self,
        conn: Connection,
        touched: dict[str, list[Fact]],
        positions: dict[str, int],
    ) -> None:
        if not touched:
            return
        done, held, stored = self._evaluated(conn, touched, positions)
        self._write(conn, done, held, stored=stored)

    def _evaluated(
        self, conn: Connection, touched: dict[str, list[Fact]], positions: dict[str, int]
    ) -> tuple[_Evaluations, dict[str, Row], Collection[str]]:
        """Each touched ticket evaluated with its stored facts and the new ones; and which
        of them have a row in the read model."""
        ids = sorted(touched)
        # A ticket whose first event (version 1) is in the batch has no row anywhere yet:
        # reading for it cost PostgreSQL a scan of the tickets table per batch of new ones.
        seen = [i for i in ids if not opens_here(touched[i])]
        current = load_tickets(conn, self.tables, seen)
        held = self._held(conn, [i for i in seen if i not in current])
        done = _Evaluations()
        for ticket_id in ids:
            row = current.get(ticket_id) or held.get(ticket_id)
            facts = merge(loads(row["facts"]) if row else [], touched[ticket_id])
            self._evaluate(done, ticket_id, facts, positions[ticket_id])
        return done, held, current.keys()

    def _reevaluate(self, conn: Connection, ids: Sequence[str]) -> None:
        """Evaluate tickets again with the current versions and contracts (no new events),
        and retry every ticket set aside: the new version may be what it lacked.

        Up to ``READ_AHEAD`` tickets are read (rows and clocks) before any is written:
        PostgreSQL's plans for the keyed reads degrade once the same transaction has
        rewritten many clock rows (measured by benchmarks/suspension.py).
        """
        wanted = set(ids)
        if self.holds_quarantined:
            wanted.update(quarantined_ids(conn, self.tables))
        for part in chunks(sorted(wanted), READ_AHEAD):
            current = load_tickets(conn, self.tables, part, BIG_CHUNK)
            old_clocks = load_clock_values(conn, self.tables, sorted(current), BIG_CHUNK)
            held = self._held(conn, [i for i in part if i not in current])
            done = _Evaluations()
            for ticket_id, row in sorted((held | current).items()):
                self._evaluate(done, ticket_id, loads(row["facts"]), row["last_position"])
            self._write(conn, done, held, current, old_clocks)

    def _held(self, conn: Connection, ids: Sequence[str]) -> dict[str, Row]:
        """The quarantine rows of ``ids`` (tickets with no row in the read model)."""
        if not self.holds_quarantined or not ids:
            return {}
        return load_quarantined(conn, self.tables, ids)

    def _evaluate(
        self, into: _Evaluations, ticket_id: str, facts: list[Fact], position: int
    ) -> None:
        try:
            rows = evaluate_ticket_rows(ticket_id, facts, position, self.catalog)
        except Exception as error:  # whatever it is, it must not stop the other tickets
            values = quarantine_values(ticket_id, facts, position, error)
            into.failed.append(dict(zip(QUARANTINE_COLUMNS, values, strict=True)))
            return
        if rows is not None:
            into.results.append((ticket_id, *rows))

    def _write(
        self,
        conn: Connection,
        done: _Evaluations,
        held: Collection[str],
        current: dict[str, Row] | None = None,
        old_clocks: dict[str, list[Values]] | None = None,
        *,
        stored: Collection[str] | None = None,
    ) -> None:
        """Store the rows (releasing tickets that were set aside) and set aside the failures.

        ``stored``: which of the tickets have a row (``current``'s keys when it is given).
        """
        if done.failed:
            self._set_aside(conn, done.failed)
            old_clocks = None  # the failed tickets' clocks are gone now
        if held:
            release(conn, self.tables, [t for t, _, _ in done.results if t in held])
        if stored is None and current is not None:
            stored = current.keys()
        self._store(conn, done.results, current, old_clocks, stored)

    def _set_aside(self, conn: Connection, failed: list[Row]) -> None:
        """Take failed tickets' rows out of the read model and keep them in quarantine."""
        self.holds_quarantined = True
        ids = [row["ticket_id"] for row in failed]
        loaded = load_clock_values(conn, self.tables, ids).values()
        removed = [values for clocks in loaded for values in clocks]
        delete_clock_values(conn, self.tables.clocks, removed)
        delete_keys(conn, self.tables.tickets, ("ticket_id",), failed)
        apply_summary(conn, self.tables.compliance, value_deltas(removed, []))
        upsert(conn, self.tables.quarantined, failed, ["ticket_id"])
        if self.observer is not None:
            self.observer.clocks_changed(conn, [(v, None) for v in removed])

    def _store(
        self,
        conn: Connection,
        results: Sequence[tuple[str, Row, list[Values]]],
        current: dict[str, Row] | None,
        old_clocks: dict[str, list[Values]] | None,
        stored: Collection[str] | None,
    ) -> None:
        """Store ticket rows and the clock rows that changed, and move the counters.

        ``current``: the ticket rows as stored, when known; those unchanged are not
        written again (a suspension re-evaluates many tickets and changes clocks only).
        Rows known to be new are inserted, not upserted: on PostgreSQL a step's thousands
        of new rows then go by COPY straight into their table, not through a staging table.
        """
        if not results:
            return
        if old_clocks is None:
            ids = [ticket_id for ticket_id, _, _ in results]
            old_clocks = load_clock_values(conn, self.tables, ids)
        diff = row_diff(results, current, old_clocks, stored)
        insert_rows(conn, self.tables.tickets, diff.new_tickets)
        upsert(conn, self.tables.tickets, diff.tickets, ["ticket_id"])
        delete_clock_values(conn, self.tables.clocks, diff.removed)
        insert_tuples(conn, self.tables.clocks, CLOCK_COLUMNS, diff.new_clocks)
        upsert_values(conn, self.tables.clocks, CLOCK_COLUMNS, diff.changed, _CLOCK_KEY)
        changed = [*diff.new_clocks, *diff.changed]
        before, removed = diff.before, diff.removed
        apply_summary(conn, self.tables.compliance, value_deltas(before + removed, changed))
        if self.observer is not None:
            self.observer.clocks_changed(conn, clock_changes(before, changed, removed))

    # --- contracts ----------------------------------------------------------------

    def _fold_contract(self, conn: Connection, row: ContractRow) -> None:
        conn.execute(self.tables.contracts.insert().values(row.values()))
        self.catalog.add_contract(row)
        self._reevaluate(conn, self._bound_to(conn, row.contract_id, row.occurrence.occurred_us))

    def _bound_to(self, conn: Connection, contract_id: str, since: int) -> list[str]:
        """The contract's tickets an event at ``since`` can change: not settled before it."""
        t = self.tables.tickets
        unsettled = or_(t.c.settled_at_us.is_(None), t.c.settled_at_us >= since)
        query = select(t.c.ticket_id).where(t.c.contract == contract_id, unsettled)
        return list(conn.execute(query).scalars())

    # --- policy and calendar versions ------------------------------------------

    def _fold_version(
        self, conn: Connection, event: CalendarVersionDefined | PolicyVersionDefined, position: int
    ) -> None:
        row = CatalogRow.of(event, position)
        if isinstance(event, CalendarVersionDefined):
            reach = self.catalog.calendar_reach(row)
            conn.execute(self.tables.calendars.insert().values(row.values("calendar_id")))
            self.catalog.add(row, is_policy=False)
            self._reevaluate(conn, self._using_calendar(conn, row.key, reach))
        else:
            conn.execute(self.tables.policies.insert().values(row.values("plan_id")))
            self.catalog.add(row, is_policy=True)
            self._reevaluate(conn, self._switching_policy(conn, row))

    def _using_calendar(self, conn: Connection, calendar_id: str, reach: int | None) -> list[str]:
        """Tickets a new calendar version can change: measured on it, and not settled before it."""
        t = self.tables.tickets
        pairs = self.catalog.plans_using(calendar_id)
        contracts = self.catalog.contracts_using(calendar_id)
        if not pairs and not contracts:
            return []
        uses = or_(
            *(and_(t.c.plan == plan, t.c.policy_version == v) for plan, v in pairs),
            *(t.c.contract.in_(part) for part in chunks(contracts)),
        )
        unsettled: ColumnElement[bool] = t.c.settled_at_us.is_(None)
        if reach is not None:
            unsettled = or_(unsettled, t.c.settled_at_us > reach)
        return list(conn.execute(select(t.c.ticket_id).where(uses, unsettled)).scalars())

    def _switching_policy(self, conn: Connection, row: CatalogRow) -> list[str]:
        """Tickets of the plan whose version in effect at their opening is now another."""
        t = self.tables.tickets
        query = select(t.c.ticket_id, t.c.opened_at_us, t.c.policy_version).where(
            t.c.plan == row.key
        )
        if row.effective_from_us is not None:
            query = query.where(t.c.opened_at_us >= row.effective_from_us)
        switching = []
        for ticket_id, opened_us, number in conn.execute(query):
            policy = self.catalog.policy_for(row.key, from_us(opened_us))
            if policy is not None and policy.number != number:
                switching.append(ticket_id)
        return switching
