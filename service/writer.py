"""Durable group commit: one writer thread commits concurrent requests together.

Requests queue up while a transaction is in flight; the writer takes everything
waiting (up to a bound), decides each command, commits all resulting events in
one transaction, and only then answers each request. One fsync is shared by the
whole group, and nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError

from domain.errors import DomainError
from domain.events import CalendarVersionDefined, PolicyVersionDefined, TicketEvent
from domain.ticket import NewTicketEvent
from service.catalog import Catalog
from service.eventstore import EventStore
from service.ingest import (
    Command,
    Decision,
    IngestRules,
    Prepared,
    Receipt,
    RetryOf,
    VersionReceipt,
)

log = logging.getLogger(__name__)

Answer = Receipt | VersionReceipt
MAX_CONFLICT_RETRIES = 3
SWITCH_INTERVAL_SECONDS = 0.0005


class StoreUnavailable(Exception):
    """The event store could not commit; nothing of the request was stored."""


@dataclass
class _Request:
    """Commands submitted together (one HTTP request); answered together after commit."""

    commands: list[Command]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Answer | Exception]]
    results: list[Answer | Exception | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.results = [None] * len(self.commands)

    def answers(self) -> list[Answer | Exception]:
        return [r if r is not None else _lost() for r in self.results]


def _settle(requests: list[_Request], error: Exception | None = None) -> None:
    """Answer requests on their event loop (a request whose caller gave up is skipped)."""
    for request in requests:
        if request.future.done():
            continue
        if error is None:
            request.future.set_result(request.answers())
        else:
            request.future.set_exception(error)


def _settle_from_thread(requests: list[_Request], error: Exception | None = None) -> None:
    # One wake-up per loop and group, rather than one per request.
    by_loop: dict[asyncio.AbstractEventLoop, list[_Request]] = {}
    for request in requests:
        by_loop.setdefault(request.loop, []).append(request)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(_settle, waiting, error)


@dataclass
class _Unit:
    """One command of a request."""

    request: _Request
    index: int

    @property
    def command(self) -> Command:
        return self.request.commands[self.index]

    @property
    def pending(self) -> bool:
        return self.request.results[self.index] is None

    def answer(self, result: Answer | Exception) -> None:
        self.request.results[self.index] = result


def _lost() -> Exception:
    return StoreUnavailable("the writer stopped before committing this event")


_STOP = object()


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        self._max_events = max_events
        self._clock = clock
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._last_recorded = datetime.min.replace(tzinfo=UTC)
        self._listeners: list[Callable[[int], None]] = []
        self.groups_committed = 0
        self.events_committed = 0

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

    async def submit(self, commands: Sequence[Command]) -> list[Answer | Exception]:
        """Queue commands in order; each is decided and answered on its own.

        Gives one result per command (its answer, or the error that refused it)
        once every accepted command is durably committed.
        """
        if self._thread is None:
            raise StoreUnavailable("the writer is not running")
        if not commands:
            return []
        loop = asyncio.get_running_loop()
        request = _Request(list(commands), loop, loop.create_future())
        self._queue.put(request)
        return await request.future

    # --- the writer thread ---------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            group: list[_Request] = [first]
            size = len(first.commands)
            while size < self._max_events:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                group.append(item)
                size += len(item.commands)
            units = [_Unit(r, i) for r in group for i in range(len(r.commands))]
            self._commit_with_fallback(units)
            _settle_from_thread(group)
        self._drain()

    def _drain(self) -> None:
        waiting: list[_Request] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                waiting.append(item)
        _settle_from_thread(waiting, _lost())

    def _commit_with_fallback(self, units: list[_Unit]) -> None:
        try:
            try:
                self._commit(units, assume_new=True)
            except IntegrityError:
                # A ticket assumed new was not, or another process wrote first: reload all.
                self._forget(units)
                self._commit(units, assume_new=False)
        except IntegrityError:
            self._forget(units)
            for unit in units:
                if unit.pending:
                    self._commit_alone(unit)
        except Exception as error:  # every request must get an answer, whatever failed
            self._forget(units)
            self._fail(units, error)

    def _commit_alone(self, unit: _Unit) -> None:
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

    def _commit(self, units: list[_Unit], *, assume_new: bool) -> None:
        recorded_at = self._next_instant()
        pending = [u.command for u in units if u.pending]
        self._rules.prefetch(pending, assume_new_on_opened=assume_new)
        decided: list[tuple[_Unit, Decision]] = []
        for unit in units:
            if not unit.pending:
                continue
            try:
                decided.append((unit, self._rules.decide(unit.command, recorded_at)))
            except DomainError as error:
                unit.answer(error)
        prepared = [d.event for _, d in decided if isinstance(d, Prepared)]
        positions = self._store.append(prepared)
        self._last_recorded = recorded_at
        by_event = dict(zip((id(e) for e in prepared), positions, strict=True))
        for unit, answer in self._answers(decided, by_event):
            unit.answer(answer)
        self._after_commit(prepared, positions)

    def _answers(
        self, decided: list[tuple[_Unit, Decision]], by_event: dict[int, int]
    ) -> list[tuple[_Unit, Answer]]:
        fresh: dict[tuple[str, int], Receipt] = {}
        answers: list[tuple[_Unit, Answer]] = []
        for unit, decision in decided:
            if isinstance(decision, Prepared):
                answer = self._fresh_answer(decision, by_event[id(decision.event)])
                if isinstance(answer, Receipt):
                    fresh[(answer.ticket_id, answer.version)] = answer
                answers.append((unit, answer))
        for unit, decision in decided:
            if isinstance(decision, RetryOf):
                first = fresh.get((decision.ticket_id, decision.version))
                answers.append((unit, self._retry_answer(decision, first)))
            elif isinstance(decision, VersionReceipt):
                answers.append((unit, decision))
        return answers

    def _fresh_answer(self, decision: Prepared, position: int) -> Answer:
        event = decision.event
        if isinstance(event, TicketEvent):
            return Receipt(
                event.ticket_id,
                event.event_id,
                event.originator_version,
                position,
                event.timestamp,
                created=True,
            )
        if isinstance(event, CalendarVersionDefined):
            self._catalog.calendar_versions(event.calendar_id, refresh=True)
            return self._version_receipt("calendar", event.calendar_id, event.originator_version)
        assert isinstance(event, PolicyVersionDefined)
        self._catalog.policy_versions(event.plan_id, refresh=True)
        return self._version_receipt("policy", event.plan_id, event.originator_version)

    def _version_receipt(self, kind: Any, key: str, number: int) -> VersionReceipt:
        versions = (
            self._catalog.calendar_versions(key, refresh=False)
            if kind == "calendar"
            else self._catalog.policy_versions(key, refresh=False)
        )
        version = next(v for v in versions if v.number == number)
        return VersionReceipt(kind, key, number, version.effective_from, created=True)

    def _retry_answer(self, decision: RetryOf, first: Receipt | None) -> Receipt:
        if first is not None:
            return Receipt(
                first.ticket_id,
                first.event_id,
                first.version,
                first.position,
                first.recorded_at,
                created=False,
            )
        return self._rules.receipt_of(decision.ticket_id, decision.event_id, decision.version)

    def _after_commit(self, prepared: list[Any], positions: list[int]) -> None:
        if not positions:
            return
        self.groups_committed += 1
        self.events_committed += len(positions)
        for listener in self._listeners:
            try:
                listener(max(positions))
            except Exception:  # a listener must never break the writer
                log.exception("commit listener failed")

    def _next_instant(self) -> datetime:
        # recorded_at never goes backwards, so as_known_at agrees with the log's order.
        return max(self._clock(), self._last_recorded)

    def _forget(self, units: list[_Unit]) -> None:
        self._rules.forget(
            {u.command.ticket_id for u in units if isinstance(u.command, NewTicketEvent)}
        )

    def _fail(self, units: list[_Unit], error: BaseException) -> None:
        if not isinstance(error, PersistenceError | StoreUnavailable):
            log.error("writer failed", exc_info=error)
        unavailable = StoreUnavailable(f"the event store did not commit: {error}")
        for unit in units:
            if unit.pending:
                unit.answer(unavailable)
