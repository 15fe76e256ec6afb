"""Evaluating staged tickets, in this process or in worker processes (a rebuild's second pass).

A staged record is ``(topic, version, position, payload)``: either a stored
event exactly as the log holds it (its eventsourcing topic and JSON state), or
a fact the first pass already decoded (topic ``FACT``, payload
``[ticket_id, fact]`` as JSON). Workers receive the catalog rows once, build
their own catalog, and turn chunks of tickets into rows; evaluation is the
costly part of a rebuild and is pure, so it spreads over the cores.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine

from projections.catalog import CatalogEntry, ContractRow, ProjectionCatalog
from projections.eventtable import EventTable, ScanRow
from projections.facts import Fact
from projections.quarantine import quarantine_values
from projections.rawfacts import TICKET_TOPICS, raw_fact
from projections.rows import SummaryKey, add_deltas, count_outcomes, evaluate_ticket_values

FACT = "fact"
Record = tuple[str, int, int, bytes]  # topic, version, position, payload
StagedTicket = tuple[str, list[Record]]  # the aggregate (staging key), its records
IN_FLIGHT = 4  # chunks queued per worker: enough to keep them busy, memory stays flat


@dataclass
class Evaluated:
    """Rows as tuples in TICKET_COLUMNS / CLOCK_COLUMNS order, ready for a bulk insert."""

    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    clocks: list[tuple[Any, ...]] = field(default_factory=list)
    summary: dict[SummaryKey, list[int]] = field(default_factory=dict)
    undecodable: list[StagedTicket] = field(default_factory=list)
    quarantined: list[tuple[Any, ...]] = field(default_factory=list)  # QUARANTINE_COLUMNS

    def extend(self, other: Evaluated) -> None:
        self.tickets.extend(other.tickets)
        self.clocks.extend(other.clocks)
        add_deltas(self.summary, other.summary)
        self.undecodable.extend(other.undecodable)
        self.quarantined.extend(other.quarantined)


def staged_facts(ticket: StagedTicket) -> tuple[str, list[Fact], int] | None:
    """The ticket's id, facts and last position; None if a record needs the log's decoder."""
    ticket_id = ""
    facts: list[Fact] = []
    _aggregate, records = ticket
    for topic, version, _position, payload in records:
        if topic == FACT:
            ticket_id, fact = orjson.loads(payload)
        else:
            found = raw_fact(topic, version, payload)
            if found is None:
                return None
            ticket_id, fact = found
        facts.append(fact)
    return ticket_id, facts, max(record[2] for record in records)


def evaluate_chunk(catalog: ProjectionCatalog, chunk: Sequence[StagedTicket]) -> Evaluated:
    done = Evaluated()
    for ticket in chunk:
        staged = staged_facts(ticket)
        if staged is None:
            done.undecodable.append(ticket)
            continue
        try:
            values = evaluate_ticket_values(*staged, catalog)
        except Exception as error:  # set aside, as following the log does (projector)
            done.quarantined.append(quarantine_values(*staged, error))
            continue
        if values is not None:
            ticket_values, clocks = values
            done.tickets.append(ticket_values)
            done.clocks.extend(clocks)
            count_outcomes(done.summary, clocks)
    return done


def build_catalog(rows: Iterable[CatalogEntry]) -> ProjectionCatalog:
    catalog = ProjectionCatalog()
    for entry in rows:
        if isinstance(entry, ContractRow):
            catalog.add_contract(entry)
        else:
            row, is_policy = entry
            catalog.add(row, is_policy=is_policy)
    return catalog


def group_tickets(rows: Iterable[ScanRow]) -> Iterator[StagedTicket]:
    """The event table's rows (by aggregate, then version) as tickets; other aggregates skipped."""
    current: list[Record] = []
    current_key: Any = None
    for aggregate, version, position, topic, state in rows:
        if topic not in TICKET_TOPICS:
            continue
        if aggregate != current_key and current:
            yield str(current_key), current
            current = []
        current_key = aggregate
        current.append((topic, version, position, state))
    if current:
        yield str(current_key), current


@dataclass(frozen=True)
class RangeTask:
    """One slice of the event table for a worker to read and evaluate by itself."""

    url: str
    table: str
    up_to: int
    key_range: tuple[Any, Any]
    page: int = 5000


_WORKER_CATALOG: list[ProjectionCatalog] = []
_WORKER_ENGINES: dict[str, Engine] = {}


def _start_worker(rows: list[CatalogEntry]) -> None:
    _WORKER_CATALOG.append(build_catalog(rows))


def _in_worker(chunk: Sequence[StagedTicket]) -> Evaluated:
    return evaluate_chunk(_WORKER_CATALOG[-1], chunk)


def _range_in_worker(task: RangeTask) -> Evaluated:
    engine = _WORKER_ENGINES.get(task.url)
    if engine is None:
        engine = create_engine(task.url, pool_size=1)
        _WORKER_ENGINES[task.url] = engine
    rows = EventTable(engine, task.table).by_aggregate(task.up_to, task.page, task.key_range)
    return evaluate_chunk(_WORKER_CATALOG[-1], list(group_tickets(rows)))


def evaluate_all(
    chunks: Iterator[Sequence[StagedTicket]],
    catalog_rows: list[CatalogEntry],
    workers: int,
    write: Callable[[Evaluated], None],
) -> None:
    """Evaluate every chunk, in order, and hand each result to ``write`` (in this process)."""
    if workers <= 0:
        catalog = build_catalog(catalog_rows)
        for chunk in chunks:
            write(evaluate_chunk(catalog, chunk))
        return
    in_pool(_in_worker, chunks, catalog_rows, workers, write)


def evaluate_ranges(
    tasks: Sequence[RangeTask],
    catalog_rows: list[CatalogEntry],
    workers: int,
    write: Callable[[Evaluated], None],
) -> None:
    """Each worker reads its slices of the event table itself: this process only writes."""
    in_pool(_range_in_worker, iter(tasks), catalog_rows, workers, write)


def in_pool(
    work: Callable[[Any], Evaluated],
    tasks: Iterator[Any],
    catalog_rows: list[CatalogEntry],
    workers: int,
    write: Callable[[Evaluated], None],
) -> None:
    """Run ``work`` over ``tasks`` in worker processes, a bounded number in flight, in order."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(catalog_rows,)) as pool:
        pending: deque[multiprocessing.pool.AsyncResult[Evaluated]] = deque()
        for task in tasks:
            pending.append(pool.apply_async(work, (task,)))
            if len(pending) >= IN_FLIGHT * workers:
                write(pending.popleft().get())
        while pending:
            write(pending.popleft().get())
