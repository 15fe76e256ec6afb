"""Durable group commit: one writer thread commits concurrent requests together.

Requests queue up while a transaction is in flight; the writer takes everything
waiting (up to a bound), decides each command, commits all resulting events in
one transaction, and only then answers each request. One fsync is shared by the
whole group, and nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent

from domain.errors import DomainError
from domain.service_events import NewServiceEvent
from domain.ticket import NewTicketEvent
from service.catalog import Catalog
from service.ingest import (
    Command,
    Decision,
    IngestRules,
    Prepared,
)
from service.storage.eventstore import EventStore
from service.storage.store_circuit import StoreCircuit, StoreUnavailable, is_store_outage
from service.storage.writer_answers import Receipts
from service.storage.writer_requests import (
    Answer,
    Flight,
    Request,
    Unit,
    lost,
    settle_from_thread,
)

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 3
# Groups this big are inserted in the background while the next is decided; smaller
# ones (single events under load) are committed in line, without a thread hand-off.
OVERLAP_FROM_EVENTS = 256
SWITCH_INTERVAL_SECONDS = 0.0005


__all__ = ["Answer", "StoreUnavailable", "Writer"]
UNCOMMITTED = "the event store could not commit; retry later"


def _inserted_now(store: EventStore, stored: list[StoredEvent]) -> Future[list[int]]:
    done: Future[list[int]] = Future()
    try:
        done.set_result(store.insert(stored))
    except Exception as error:  # _land answers for it, as for an insert in the background
        done.set_exception(error)
    return done


def _tickets_only(units: list[Unit]) -> bool:
    # A catalog version changes what later commands are decided against: such a group
    # is stored before the next is decided.
    return all(isinstance(u.command, NewTicketEvent) for u in units)


_STOP = object()


def utc_now() -> datetime:
    return datetime.now(UTC)


class Admission(Protocol):
    async def admit(self) -> None: ...


class Writer:
    def __init__(
        self,
        store: EventStore,
        catalog: Catalog,
        *,
        max_events: int = 2000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._rules = IngestRules(store, catalog)
        self._receipts = Receipts(self._rules, catalog)
        self._max_events = max_events
        self._clock = clock
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._last_recorded = datetime.min.replace(tzinfo=UTC)
        self._listeners: list[Callable[[int], None]] = []
        self.groups_committed = 0
        # The highest position this writer committed: a position at or below it is recorded.
        self.last_position = 0
        self.events_committed = 0
        # Groups decided while the group before them was being inserted.
        self.groups_overlapped = 0
        self._circuit: StoreCircuit | None = None
        # The requests the writer holds: the outage circuit answers them if it opens.
        self._in_hand: list[Request] = []
        self._admission: Admission | None = None

    def attach(self, circuit: StoreCircuit) -> None:
        """Refuse work while ``circuit`` is open, and answer what waits when it opens."""
        self._circuit = circuit
        circuit.on_open(self._refuse_waiting)

    def admit_with(self, admission: Admission) -> None:
        """Let ``admission`` hold each write before it is queued (service/storage/lag_gate.py)."""
        self._admission = admission

    def on_commit(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(max_position)`` after each committed group."""
        self._listeners.append(listener)

    def start(self) -> None:
        # The writer releases the GIL on every database call and must win it back from
        # the busy event loop; at the default 5 ms switch interval a group waits several
        # slices for it. A shorter interval keeps group commits flowing.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_SECONDS))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slaclock-writer")
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def queued(self) -> int:
        """Requests waiting for the writer thread to take them."""
        return self._queue.qsize()

    async def submit(self, commands: Sequence[Command]) -> list[Answer | Exception]:
        """Queue commands in order; each is decided and answered on its own.

        Gives one result per command (its answer, or the error that refused it)
        once every accepted command is durably committed.
        """
        if self._thread is None:
            raise StoreUnavailable("the writer is not running")
        if self._circuit is not None:
            self._circuit.check()
        if not commands:
            return []
        if self._admission is not None:
            await self._admission.admit()
        loop = asyncio.get_running_loop()
        request = Request(list(commands), loop, loop.create_future())
        self._queue.put(request)
        return await request.future

    # --- the writer thread ---------------------------------------------------

    def _run(self) -> None:
        # While one group's rows are being inserted (the GIL released), the writer
        # decides and encodes the next; a group is answered only once its insert is done.
        flight: Flight | None = None
        stopping = False
        with ThreadPoolExecutor(1, thread_name_prefix="slaclock-insert") as inserter:
            while not (stopping and flight is None):
                group: list[Request] = []
                if not stopping:
                    group, stopping = self._take_group(wait=flight is None)
                self._in_hand = group + (flight.requests if flight is not None else [])
                group = self._unless_open(group)
                units = [Unit(r, i) for r in group for i in range(len(r.commands))]
                if flight is not None and not (units and _tickets_only(units)):
                    self._land(flight, following=[])
                    flight = None
                if units:
                    flight = self._launch(group, units, after=flight, inserter=inserter)
        self._drain()

    def _take_group(self, *, wait: bool) -> tuple[list[Request], bool]:
        """What is waiting, up to the bound, and whether the writer was told to stop."""
        try:
            first = self._queue.get() if wait else self._queue.get_nowait()
        except queue.Empty:
            return [], False
        if first is _STOP:
            return [], True
        group: list[Request] = [first]
        size = len(first.commands)
        while size < self._max_events:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return group, True
            group.append(item)
            size += len(item.commands)
        return group, False

    def _launch(
        self,
        group: list[Request],
        units: list[Unit],
        *,
        after: Flight | None,
        inserter: ThreadPoolExecutor,
    ) -> Flight | None:
        """Decide a group and commit it, once the group ``after`` is stored.

        A big group of ticket events is left inserting (returned) while the writer
        decides the next; anything else is committed and answered before returning.
        """
        decided = self._decide_or_fail(units)
        if after is not None:
            self.groups_overlapped += 1
            if not self._land(after, following=units):
                # What was decided assumed the group before it stored: decide again.
                decided = self._decide_or_fail(units)
        commands, stored = decided
        if len(stored) >= OVERLAP_FROM_EVENTS and _tickets_only(units):
            return Flight(group, units, commands, inserter.submit(self._store.insert, stored))
        self._land(Flight(group, units, commands, _inserted_now(self._store, stored)), following=[])
        return None

    def _decide_or_fail(
        self, units: list[Unit]
    ) -> tuple[list[tuple[Unit, Decision]], list[StoredEvent]]:
        try:
            return self._decide(units, assume_new=True)
        except Exception as error:  # every request must get an answer, whatever failed
            self._forget(units)
            self._fail(units, error)
            return [], []

    def _land(self, flight: Flight, *, following: list[Unit]) -> bool:
        """Answer a group once its insert is done; False if it had to be committed again."""
        landed = False
        try:
            self._answer(flight.decided, flight.insert.result())
            landed = True
        except IntegrityError:
            self._undo(following)
            self._forget(flight.units)
            self._commit_again(flight.units)
        except Exception as error:  # every request must get an answer, whatever failed
            self._undo(following)
            self._forget(flight.units)
            self._fail(flight.units, error)
        settle_from_thread(flight.requests)
        return landed

    def _undo(self, units: list[Unit]) -> None:
        """Drop what deciding ``units`` cached or answered, to decide them afresh."""
        self._forget(units)
        for unit in units:
            unit.reset()

    def _unless_open(self, group: list[Request]) -> list[Request]:
        """The group, or none of it (each answered 503) while the outage circuit is open."""
        if group and self._circuit is not None and self._circuit.is_open:
            settle_from_thread(group, StoreUnavailable(UNCOMMITTED))
            return []
        return group

    def _refuse_waiting(self) -> None:
        """The circuit opened: answer 503 to every queued request and to those in hand.

        A request in hand whose insert was under way may yet be stored: its 503 says
        the outcome is unknown, and a retry with the same event_id is answered with
        the original receipt if it was (docs/operations.md, "Database outages").
        """
        waiting: list[Request] = []
        stop = False
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
            else:
                waiting.append(item)
        if stop:
            self._queue.put(_STOP)
        settle_from_thread(waiting + self._in_hand, StoreUnavailable(UNCOMMITTED))

    def _drain(self) -> None:
        waiting: list[Request] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                waiting.append(item)
        settle_from_thread(waiting, lost())

    def _commit_again(self, units: list[Unit]) -> None:
        """After a first try that assumed tickets new: with heads read from the store."""
        self._rules.opened_ticket_existed()
        try:
            try:
                self._commit(units, assume_new=False)
            except IntegrityError:
                self._forget(units)
                for unit in units:
                    if unit.pending:
                        self._commit_alone(unit)
        except Exception as error:  # every request must get an answer, whatever failed
            self._forget(units)
            self._fail(units, error)

    def _commit_alone(self, unit: Unit) -> None:
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                self._commit([unit], assume_new=False)
                return
            except IntegrityError:
                self._forget([unit])
            except Exception as error:
                self._forget([unit])
                self._fail([unit], error)
                return
        self._fail([unit], StoreUnavailable("the ticket kept changing; try again"))

    def _commit(self, units: list[Unit], *, assume_new: bool) -> None:
        decided, stored = self._decide(units, assume_new=assume_new)
        self._answer(decided, self._store.insert(stored))

    def _decide(
        self, units: list[Unit], *, assume_new: bool
    ) -> tuple[list[tuple[Unit, Decision]], list[StoredEvent]]:
        recorded_at = self._next_instant()
        self._last_recorded = recorded_at
        pending = [u.command for u in units if u.pending]
        self._rules.prefetch(pending, assume_new_on_opened=assume_new)
        decided: list[tuple[Unit, Decision]] = []
        for unit in units:
            if not unit.pending:
                continue
            try:
                decided.append((unit, self._rules.decide(unit.command, recorded_at)))
            except DomainError as error:
                unit.answer(error)
        prepared = [e for _, d in decided if isinstance(d, Prepared) for e in d.events]
        return decided, self._store.encode(prepared)

    def _answer(self, decided: list[tuple[Unit, Decision]], positions: list[int]) -> None:
        prepared = [e for _, d in decided if isinstance(d, Prepared) for e in d.events]
        by_event = dict(zip((id(e) for e in prepared), positions, strict=True))
        for unit, answer in self._receipts.of_group(decided, by_event):
            unit.answer(answer)
        self._after_commit(prepared, positions)

    def _after_commit(self, prepared: list[Any], positions: list[int]) -> None:
        if not positions:
            return
        self.groups_committed += 1
        self.events_committed += len(positions)
        self.last_position = max(self.last_position, *positions)
        for listener in self._listeners:
            try:
                listener(max(positions))
            except Exception:  # a listener must never break the writer
                log.exception("commit listener failed")

    def _next_instant(self) -> datetime:
        # recorded_at never goes backwards, so as_known_at agrees with the log's order.
        return max(self._clock(), self._last_recorded)

    def _forget(self, units: list[Unit]) -> None:
        self._rules.forget_commands([u.command for u in units])
        self._rules.services.forget(
            {u.command.service_id for u in units if isinstance(u.command, NewServiceEvent)}
        )

    def _fail(self, units: list[Unit], error: BaseException) -> None:
        if not isinstance(error, PersistenceError | StoreUnavailable):
            log.error("writer failed", exc_info=error)
        elif not isinstance(error, StoreUnavailable):
            # The driver's words go to the log only: clients get a generic answer.
            log.warning("the event store did not commit: %s: %s", type(error).__name__, error)
        if self._circuit is not None and is_store_outage(error):
            self._circuit.trip(
                f"a commit failed: {type(error).__name__}", began=min(u.began for u in units)
            )
        unavailable = (
            error if isinstance(error, StoreUnavailable) else StoreUnavailable(UNCOMMITTED)
        )
        for unit in units:
            if unit.pending:
                unit.answer(unavailable)
