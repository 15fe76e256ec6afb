"""Loading a fresh generation from the whole log, evaluating each ticket once.

Following the log incrementally evaluates a ticket again each time a batch
touches it; over a long log of interleaved tickets that is about one
evaluation per event. A rebuild needs only the final rows, so it makes two
streaming passes:

1. the log, page by page: each ticket event is copied, undecoded, into a
   staging table keyed by aggregate and version; policy and calendar versions
   are decoded and go to the catalog tables as usual;
2. the staging rows in key order, ticket by ticket: each ticket is evaluated
   once, with every version the log defines (in worker processes when the log
   is big), and its rows are written.

This gives exactly the rows incremental following gives, because those rows
always equal an evaluation of the ticket's events with the versions known so
far: a new version re-evaluates every ticket it could change (``projector``).
Memory holds a few pages at a time in either pass. A rebuild that dies midway
leaves only a generation that is not live, which the next rebuild drops.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    tuple_,
)

from domain.contract_events import ContractEvent
from domain.events import CalendarVersionDefined, PolicyVersionDefined, TicketEvent
from projections.catalog import CatalogEntry, CatalogRow, ContractRow
from projections.evaluation import (
    FACT,
    Evaluated,
    RangeTask,
    Record,
    StagedTicket,
    build_catalog,
    evaluate_all,
    evaluate_chunk,
    evaluate_ranges,
    group_tickets,
)
from projections.eventtable import EventTable, ScanRow
from projections.facts import to_fact
from projections.ports import EventLog, RawEventLog
from projections.quarantine import QUARANTINE_COLUMNS
from projections.rawfacts import CONTRACT_TOPICS, TICKET_TOPICS, VERSION_TOPICS
from projections.rows import CLOCK_COLUMNS, TICKET_COLUMNS, SummaryKey, add_deltas
from projections.schema import Tables, create_indexes
from projections.store import apply_summary, insert_tuples
from projections.tracking import advance_position, read_position, write_transaction

LOG_PAGE = 5000
STAGING_PAGE = 5000
CHUNK_TICKETS = 250
WRITE_TICKETS = 2000  # tickets per write transaction
LOAD_CACHE_KIB = 32768  # bounds the sorter that builds the indexes at the end, too
PARALLEL_FROM_EVENTS = 50_000  # below this, worker start-up costs more than it saves
_STAGED = ("aggregate", "version", "position", "topic", "payload")
OnProgress = Callable[[int, int], None]  # (position reached, events read)


def staging_table(tables: Tables) -> Table:
    return Table(
        f"slaproj_g{tables.generation}_staging",
        MetaData(),
        Column("aggregate", String(128), primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("topic", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
    )


def relax_durability(conn: Connection) -> None:
    """Skip the flush per commit while loading (neither setting can corrupt the database).

    Nothing loaded is live before the switch-over, which commits durably on its
    own connection; a crash loses at most a rebuild that is then run again.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        conn.exec_driver_sql(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
    else:
        conn.exec_driver_sql("SET synchronous_commit = off")
    conn.commit()


def default_workers(events: int) -> int:
    cores = os.cpu_count() or 1
    return min(cores, 4) if cores > 1 and events >= PARALLEL_FROM_EVENTS else 0


class BulkLoader:
    def __init__(
        self, engine: Engine, log: EventLog, tables: Tables, *, workers: int | None = None
    ) -> None:
        self._engine = engine
        self._log = log
        self._tables = tables
        self._staging = staging_table(tables)
        self._catalog_rows: list[CatalogEntry] = []
        self._workers = workers

    def load(self, on_progress: OnProgress | None = None) -> int:
        """Fill the (empty) generation from the log; the position it reached."""
        with self._engine.connect() as conn:
            relax_durability(conn)
            table = EventTable.of(self._engine, self._log)
            if table is not None and isinstance(self._log, RawEventLog):
                position = self._from_table(conn, table, on_progress)
            else:
                position = self._from_staging(conn, on_progress)
            with write_transaction(conn):
                create_indexes(conn, self._tables)
        return position

    def _from_table(
        self, conn: Connection, table: EventTable, on_progress: OnProgress | None
    ) -> int:
        """Read each ticket's events straight from the event table, up to today's head."""
        with write_transaction(conn):
            if read_position(conn, self._tables):
                raise RuntimeError("a bulk load needs an empty generation")
        position = self._log.max_position()
        assert isinstance(self._log, RawEventLog)
        with write_transaction(conn):
            topics = VERSION_TOPICS + CONTRACT_TOPICS
            for aggregate, version, at, topic, state in table.with_topics(topics, position):
                stored = StoredEvent(uuid.UUID(str(aggregate)), version, topic, state)
                event = self._log.decode(stored)
                if isinstance(event, ContractEvent):
                    self._stage_contract(conn, event, at)
                    continue
                assert isinstance(event, CalendarVersionDefined | PolicyVersionDefined)
                self._stage_version(conn, event, at)
        workers = default_workers(position) if self._workers is None else self._workers
        if workers > 0:
            self._evaluate_ranges(conn, table, position, workers, on_progress)
        else:
            tickets = _tickets(table.by_aggregate(position, STAGING_PAGE), on_progress)
            self._evaluate(conn, tickets, position)
        with write_transaction(conn):
            advance_position(conn, self._tables, 0, position)
        return position

    def _evaluate_ranges(
        self,
        conn: Connection,
        table: EventTable,
        position: int,
        workers: int,
        on_progress: OnProgress | None,
    ) -> None:
        """Workers read and evaluate slices of the event table; this process writes."""
        digits = 2 if position < 5_000_000 else 3
        tasks = [
            RangeTask(table.url, table.name, position, key_range)
            for key_range in table.key_ranges(digits)
        ]
        write = self._writer(conn)
        done = [0]

        def write_and_report(result: Evaluated) -> None:
            write(result)
            done[0] += 1
            if on_progress:
                share = position * done[0] // len(tasks)
                on_progress(share, share)

        evaluate_ranges(tasks, self._catalog_rows, workers, write_and_report)
        write(None)

    def _from_staging(self, conn: Connection, on_progress: OnProgress | None) -> int:
        with write_transaction(conn):
            self._staging.metadata.drop_all(conn)
            self._staging.metadata.create_all(conn)
        try:
            position, events = self._stage(conn, on_progress)
            self._evaluate(conn, self._staged_tickets(conn), events)
        finally:
            with write_transaction(conn):
                self._staging.metadata.drop_all(conn)
        return position

    def _evaluate(self, conn: Connection, tickets: Iterator[StagedTicket], events: int) -> None:
        workers = default_workers(events) if self._workers is None else self._workers
        chunks = _chunked(tickets, CHUNK_TICKETS)
        write = self._writer(conn)
        evaluate_all(chunks, self._catalog_rows, workers, write)
        write(None)

    # --- pass 1: the log into staging rows -------------------------------------------

    def _stage(self, conn: Connection, on_progress: OnProgress | None) -> tuple[int, int]:
        with write_transaction(conn):
            position = read_position(conn, self._tables)
        if position:
            raise RuntimeError("a bulk load needs an empty generation")
        events = 0
        while page := self._read(position):
            with write_transaction(conn):
                self._stage_page(conn, page)
                advance_position(conn, self._tables, position, page[-1][0])
            position = page[-1][0]
            events += len(page)
            if on_progress:
                on_progress(position, events)
        return position, events

    def _read(self, position: int) -> Sequence[tuple[int, Any]]:
        """A page of (position, record): raw records when the log offers them."""
        if isinstance(self._log, RawEventLog):
            return [(r.id, r) for r in self._log.read_notifications_after(position, LOG_PAGE)]
        return self._log.read_after(position, LOG_PAGE)

    def _stage_page(self, conn: Connection, page: Sequence[tuple[int, Any]]) -> None:
        staged: list[tuple[str, int, int, str, bytes]] = []
        for position, item in page:
            if getattr(item, "topic", None) in TICKET_TOPICS:
                key = str(item.originator_id)
                staged.append((key, item.originator_version, position, item.topic, item.state))
                continue
            event = self._log.decode(item) if isinstance(self._log, RawEventLog) else item
            if isinstance(event, TicketEvent):
                payload = json.dumps([event.ticket_id, to_fact(event)]).encode()
                version = event.originator_version
                staged.append((event.ticket_id, version, position, FACT, payload))
            elif isinstance(event, CalendarVersionDefined | PolicyVersionDefined):
                self._stage_version(conn, event, position)
            elif isinstance(event, ContractEvent):
                self._stage_contract(conn, event, position)
        insert_tuples(conn, self._staging, _STAGED, staged)

    def _stage_version(
        self, conn: Connection, event: CalendarVersionDefined | PolicyVersionDefined, position: int
    ) -> None:
        row = CatalogRow.of(event, position)
        is_policy = isinstance(event, PolicyVersionDefined)
        table = self._tables.policies if is_policy else self._tables.calendars
        conn.execute(insert(table).values(row.values("plan_id" if is_policy else "calendar_id")))
        self._catalog_rows.append((row, is_policy))

    def _stage_contract(self, conn: Connection, event: ContractEvent, position: int) -> None:
        row = ContractRow.of(event, position)
        if row is not None:
            conn.execute(insert(self._tables.contracts).values(row.values()))
            self._catalog_rows.append(row)

    # --- pass 2: each ticket evaluated once -------------------------------------------

    def _writer(self, conn: Connection) -> Callable[[Evaluated | None], None]:
        """Writes results a few thousand tickets per transaction; ``None`` flushes the rest."""
        pending = Evaluated()
        summary: dict[SummaryKey, list[int]] = {}

        def write(done: Evaluated | None) -> None:
            if done is not None:
                for ticket in done.undecodable:
                    done.extend(self._decode_here(ticket))
                add_deltas(summary, done.summary)
                pending.tickets.extend(done.tickets)
                pending.clocks.extend(done.clocks)
                pending.quarantined.extend(done.quarantined)
                if len(pending.tickets) < WRITE_TICKETS:
                    return
            with write_transaction(conn):
                insert_tuples(conn, self._tables.tickets, TICKET_COLUMNS, pending.tickets)
                insert_tuples(conn, self._tables.clocks, CLOCK_COLUMNS, pending.clocks)
                quarantined = self._tables.quarantined
                insert_tuples(conn, quarantined, QUARANTINE_COLUMNS, pending.quarantined)
                if done is None:
                    apply_summary(conn, self._tables.compliance, summary)
            pending.tickets.clear()
            pending.clocks.clear()
            pending.quarantined.clear()

        return write

    def _decode_here(self, ticket: StagedTicket) -> Evaluated:
        """A ticket whose stored JSON has an unexpected shape: the log's own decoder reads it."""
        assert isinstance(self._log, RawEventLog)
        aggregate, records = ticket
        decoded: list[Record] = []
        for topic, version, position, payload in records:
            fact = payload
            if topic != FACT:
                stored = StoredEvent(uuid.UUID(str(aggregate)), version, topic, payload)
                event = self._log.decode(stored)
                assert isinstance(event, TicketEvent)
                fact = json.dumps([event.ticket_id, to_fact(event)]).encode()
            decoded.append((FACT, version, position, fact))
        return evaluate_chunk(build_catalog(self._catalog_rows), [(aggregate, decoded)])

    def _staged_tickets(self, conn: Connection) -> Iterator[StagedTicket]:
        """Every ticket's records, in key order, reading a page of staging rows at a time."""
        s = self._staging
        after: tuple[str, int] | None = None
        current: list[Record] = []
        current_key = ""
        while True:
            query = select(s.c.aggregate, s.c.version, s.c.position, s.c.topic, s.c.payload)
            if after is not None:
                query = query.where(tuple_(s.c.aggregate, s.c.version) > tuple_(*after))
            query = query.order_by(s.c.aggregate, s.c.version).limit(STAGING_PAGE)
            rows = conn.execute(query).all()
            conn.rollback()
            if not rows:
                break
            after = (rows[-1][0], rows[-1][1])
            for key, version, position, topic, payload in rows:
                if key != current_key and current:
                    yield current_key, current
                    current = []
                current_key = key
                current.append((topic, version, position, bytes(payload)))
        if current:
            yield current_key, current


def _chunked(tickets: Iterator[StagedTicket], size: int) -> Iterator[list[StagedTicket]]:
    chunk: list[StagedTicket] = []
    for ticket in tickets:
        chunk.append(ticket)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _tickets(rows: Iterator[ScanRow], on_progress: OnProgress | None) -> Iterator[StagedTicket]:
    """Group the event table's rows into tickets, reporting progress as rows are read."""

    def counted() -> Iterator[ScanRow]:
        seen = 0
        for row in rows:
            seen += 1
            if on_progress and seen % LOG_PAGE == 0:
                on_progress(seen, seen)
            yield row
        if on_progress:
            on_progress(seen, seen)

    return group_tickets(counted())
