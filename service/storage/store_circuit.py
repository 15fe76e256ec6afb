"""The store-outage circuit: while the database cannot answer, every request gets 503 at once.

A database that is down or unreachable used to hold each request for the
library's retries and the pools' timeouts (13.8 s in a 10 s outage, and no
answer at all within 45 s in a longer one), and reads answered 500. A driver
call that hangs (a partition, a blackholed connection) cannot be interrupted
from Python, so instead of waiting for it, this circuit decides from the side:

- a monitor thread probes the store every ``interval`` seconds (the probe runs
  in its own thread, so a hung probe never stops the monitor);
- the circuit opens when a probe fails, when one has not answered within
  ``timeout`` seconds, or when any call to the event store (the writer's
  commits included) has been waiting ``stuck_timeout`` seconds (on SQLite a
  longer wait: a write waiting for another connection's write lock, such as
  a rebuild's or the projections' catch-up batch, is busy, not down);
- opening answers every request that waits on the store with 503 and a
  ``Retry-After`` (service/storage/deadline.py, and the writer's queue), and new
  requests get 503 without touching the store;
- it closes at the first probe that succeeds while no store call is stuck, so
  the service is back one probe interval after the database is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable

import psycopg
import sqlalchemy.exc
from eventsourcing import persistence
from eventsourcing.persistence import PersistenceError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
UNAVAILABLE_DETAIL = "the database is unavailable; nothing was stored, retry later"
# Probes left hanging at once (each holds a connection): more would only pile up.
MAX_HUNG_PROBES = 8


class StoreUnavailable(Exception):
    """The event store could not commit, or cannot be reached; nothing of the request was stored."""


def is_store_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot serve right now (not a bug, not bad input).

    Any error of a database family (eventsourcing's, SQLAlchemy's, psycopg's,
    sqlite3's) is, except those that mean a faulty statement or value.
    """
    if isinstance(error, StoreUnavailable | sqlalchemy.exc.TimeoutError):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, DATABASE_ERRORS) and not isinstance(error, _FAULTY_STATEMENTS)


DATABASE_ERRORS = (PersistenceError, sqlalchemy.exc.DBAPIError, psycopg.Error, sqlite3.Error)
_FAULTY_STATEMENTS = tuple(
    getattr(module, name)
    for module in (persistence, sqlalchemy.exc, psycopg, sqlite3)
    for name in ("IntegrityError", "ProgrammingError", "DataError", "NotSupportedError")
)


class StoreCircuit:
    def __init__(
        self,
        probe: Callable[[], None],
        *,
        stuck_for: Callable[[], float] = lambda: 0.0,
        timeout: float = 1.0,
        stuck_timeout: float | None = None,
        interval: float = 0.25,
    ) -> None:
        self._probe = probe
        self._stuck_for = stuck_for
        self.timeout = timeout
        # How long a store call may wait before it counts as an outage (default: timeout).
        self.stuck_timeout = timeout if stuck_timeout is None else stuck_timeout
        self.interval = interval
        self._open = False
        self._opened_at = 0.0
        self._closed_at = 0.0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self._lock = threading.Lock()
        self._on_open: list[Callable[[], None]] = []
        self._on_close: list[Callable[[], None]] = []
        self._probes: list[_Probe] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.openings = 0

    @property
    def is_open(self) -> bool:
        return self._open

    def check(self) -> None:
        """Raise StoreUnavailable while the circuit is open."""
        if self._open:
            raise StoreUnavailable(UNAVAILABLE_DETAIL)

    def opened(self) -> asyncio.Future[None]:
        """A future of the running loop, done when the circuit opens; ``forget`` it after."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiters.add((loop, future))
            if self._open:
                future.set_result(None)
        return future

    def forget(self, future: asyncio.Future[None]) -> None:
        with self._lock:
            self._waiters.discard((asyncio.get_running_loop(), future))

    def on_open(self, listener: Callable[[], None]) -> None:
        self._on_open.append(listener)

    def on_close(self, listener: Callable[[], None]) -> None:
        self._on_close.append(listener)

    def trip(self, reason: str, *, began: float | None = None) -> None:
        """Open now (a caller saw the store fail); the monitor closes it when probes pass.

        ``began`` is when the failed call started (``time.monotonic()``): a call that
        started before the circuit last closed (one that waited for a connection
        through the outage, say) says nothing about the store since, so it is ignored.
        """
        if began is not None and began < self._closed_at:
            log.info("ignored a failure of a call begun before the store was back: %s", reason)
            return
        self._set(opened=True, reason=reason)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="slaclock-outage", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        # Let a probe under way give its connections back before the pools close; one
        # hung on the network is left behind (its thread is a daemon).
        deadline = time.monotonic() + self.timeout
        for probe in self._probes:
            probe.done.wait(max(0.0, deadline - time.monotonic()))

    # --- the monitor -------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)

    def tick(self) -> None:
        """One look at the store: judge the probes so far, and start the next."""
        now = time.monotonic()
        finished = [p for p in self._probes if p.done.is_set()]
        hung = [p for p in self._probes if not p.done.is_set() and now - p.started > self.timeout]
        self._probes = [p for p in self._probes if not p.done.is_set()]
        stuck = self._stuck_for()
        if stuck > self.stuck_timeout:
            self._set(opened=True, reason=f"a database call has been waiting {stuck:.1f} s")
        elif hung:
            self._set(opened=True, reason=f"the store did not answer within {self.timeout} s")
        elif finished:
            latest = max(finished, key=lambda p: p.started)
            # A probe begun before the circuit opened says nothing about since.
            if latest.error is not None or latest.started > self._opened_at:
                self._set(opened=latest.error is not None, reason=latest.error or "")
        fresh = any(now - p.started <= self.timeout for p in self._probes)
        if not fresh and len(self._probes) < MAX_HUNG_PROBES:
            self._probes.append(_Probe(self._probe))

    def _set(self, *, opened: bool, reason: str) -> None:
        if not opened and self._open:
            # Before any request is let through: e.g. reopen what the outage spoiled.
            self._notify(self._on_close)
        waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        with self._lock:
            changed = opened != self._open
            self._open = opened
            if opened:
                self._opened_at = time.monotonic()
            elif changed:
                self._closed_at = time.monotonic()
            if opened and changed:
                self.openings += 1
                waiters, self._waiters = self._waiters, set()
        if not changed:
            return
        if not opened:
            log.warning("database available again")
            return
        log.warning("database unavailable, answering 503 until it is back: %s", reason)
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop closed: nobody waits
                loop.call_soon_threadsafe(_release, future)
        self._notify(self._on_open)

    def _notify(self, listeners: list[Callable[[], None]]) -> None:
        for listener in listeners:
            try:
                listener()
            except Exception:  # a listener must never stop the monitor
                log.exception("outage listener failed")


def _release(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Probe:
    """One probe, in a thread of its own: a hung database call only hangs this thread."""

    def __init__(self, probe: Callable[[], None]) -> None:
        self.started = time.monotonic()
        self.error: str | None = None
        self.done = threading.Event()
        threading.Thread(
            target=self._run, args=(probe,), name="slaclock-probe", daemon=True
        ).start()

    def _run(self, probe: Callable[[], None]) -> None:
        try:
            probe()
        except Exception as error:  # any failure of the probe is the answer
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.done.set()
