"""The projections in a child process of `slaclock serve`: the default.

In the server's own process the projection runner competed with the HTTP
event loop and the writer for one GIL: batch ingest ran at 0.30x and single
events at 0.42x the rate with projections off (benchmarks/default_config.py).
In a child process it has an interpreter of its own, and `slaclock serve`
still needs no second command. The child runs the same ProjectionRunner as
`slaclock project`; the server drives it through the same handle as a thread
runner (``projections.service.RunnerHandle``):

* wakes and stops cross the process boundary as multiprocessing events;
* the runner's stats come back through a little shared memory (numbers and the
  last error's text), so ``min_position`` waits watch the child's committed
  position without a database query, and a byte up another pipe tells of each
  new position, which the waits hear on the server's event loop;
* the child dies with the server (its end of the wake pipe reads end of
  file once no process holds the other), and the
  server starts a new child if the old one dies (after a second, counted in
  ``restarts``).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from projections.follower import Follower
from projections.runner import ProjectionRunner, RunnerStats, Signal
from service.gc_tuning import collect_less_often
from service.idle_lane import give_way_seconds, step_lane
from service.logging_setup import configure_logging
from service.settings import Settings
from service.storage.checkpointer import state_checkpoints
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore

log = logging.getLogger(__name__)

_FIELDS = ("running", "active", "position", "events_total", "batches_total", "errors_total")
_ERROR_BYTES = 512
RESTART_DELAY_SECONDS = 1.0


class SharedStats:
    """RunnerStats in shared memory: written by the child, read by the server.

    Without a lock: a child killed while holding one would hang every reader.
    A read racing a write may mix two snapshots of the figures, each of which
    is only ever reported, never acted on, except ``position``, which is one
    aligned 64-bit word, written after the rows it stands for are committed.
    """

    def __init__(self, context: SpawnContext) -> None:
        self.numbers: Any = context.Array("q", len(_FIELDS) + 1, lock=False)
        self.error: Any = context.Array("c", _ERROR_BYTES, lock=False)

    def publish(self, stats: RunnerStats) -> None:
        text = (stats.last_error or "").encode("utf-8", "replace")[:_ERROR_BYTES]
        self.error.raw = text.ljust(_ERROR_BYTES, b"\0")
        self.numbers[:] = [*(int(getattr(stats, f)) for f in _FIELDS), len(text)]

    def read(self) -> RunnerStats:
        values = list(self.numbers[:])
        text = bytes(self.error.raw[: values[-1]]).decode("utf-8", "replace")
        fields = dict(zip(_FIELDS, values, strict=False))
        return RunnerStats(
            running=bool(fields["running"]),
            active=bool(fields["active"]),
            position=fields["position"],
            events_total=fields["events_total"],
            batches_total=fields["batches_total"],
            errors_total=fields["errors_total"],
            last_error=text or None,
        )


class ProjectionProcess:
    """A ProjectionRunner in a supervised child process (a RunnerHandle)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        # Wakes and the stop go down a pipe, one byte each, never blocking: a
        # multiprocessing Event's set() waits for every sleeper to acknowledge,
        # and a child killed in its wait would hang the server's writer.
        self._line, self._sender = self._context.Pipe(duplex=False)
        os.set_blocking(self._sender.fileno(), False)
        # And news of each commit comes up another, which min_position waits read
        # on the event loop (projections/reads/waiters.py) instead of polling.
        self._news, self._teller = self._context.Pipe(duplex=False)
        os.set_blocking(self._news.fileno(), False)
        self._shared = SharedStats(self._context)
        self._process: SpawnProcess | None = None
        # The child the supervisor last saw alive: read on every min_position wait,
        # where Process.is_alive() (a waitpid call, the GIL handed away and won back)
        # cost the event loop about 4% of its time at 500 reads a second.
        self._alive: SpawnProcess | None = None
        self._supervisor: threading.Thread | None = None
        self._stopping = threading.Event()
        self.restarts = 0

    @property
    def stats(self) -> RunnerStats:
        stats = self._shared.read()
        alive = self._alive is not None
        return stats if alive else replace(stats, running=False, active=False)

    def start(self) -> None:
        self._spawn()
        self._supervisor = threading.Thread(
            target=self._supervise, name="slaclock-projection-supervisor", daemon=True
        )
        self._supervisor.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._send(_STOP)
        process = self._process
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(5)
        self._alive = None
        if self._supervisor is not None:
            self._supervisor.join(5)
        self._line.close()
        self._sender.close()
        self._news.close()
        self._teller.close()

    def wake(self) -> None:
        self._send(_WAKE)

    def news(self) -> int | None:
        return None if self._news.closed else self._news.fileno()

    def pid(self) -> int | None:
        process = self._process
        return None if process is None else process.pid

    def _send(self, signal_byte: bytes) -> None:
        _signal(self._sender.fileno(), signal_byte)

    def _spawn(self) -> None:
        args = (self._settings.model_dump(), self._line, self._shared, self._teller)
        process = self._context.Process(
            target=child_main, args=args, name="slaclock-projections", daemon=True
        )
        process.start()
        self._process = self._alive = process

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            process.join(0.5)  # returns as soon as the child exits
            if process.is_alive():
                continue
            self._alive = None
            if self._stopping.is_set():
                continue
            log.warning(
                "projection process %s exited with code %s; starting another",
                process.pid,
                process.exitcode,
            )
            if self._stopping.wait(RESTART_DELAY_SECONDS):
                return
            self.restarts += 1
            self._spawn()


_WAKE = b"w"
_STOP = b"s"
_NEWS = b"n"


def _signal(fd: int, signal_byte: bytes) -> None:
    """One byte down a non-blocking pipe, never waiting: a full pipe already holds a
    signal for its reader, and a reader gone gets none."""
    with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
        os.write(fd, signal_byte)


def child_main(
    values: dict[str, Any], line: Connection, shared: SharedStats, teller: Connection
) -> None:
    """The child's body: follow the log until the server stops it or goes away."""
    wake, stop = threading.Event(), threading.Event()
    # Ctrl-C reaches the whole process group: the server stops the child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: _stop_now(wake, stop))
    settings = Settings(**values)
    configure_logging(settings)  # a spawned child starts with logging unconfigured
    collect_less_often()
    config = DatabaseConfig.parse(settings.database_url)
    store = EventStore(config, create_table=False)
    engine = create_sql_engine(config)
    listener = threading.Thread(target=_listen, args=(line, wake, stop), daemon=True)
    listener.start()
    try:
        with (
            state_checkpoints(config.state_path) as checkpoints,
            step_lane(give_way_seconds(settings, config)) as lane,
        ):
            ProjectionRunner(
                engine,
                store,
                batch_size=settings.projection_batch_size,
                poll_seconds=settings.projection_poll_seconds,
                follower=Follower(engine, store, checkpoints=checkpoints),
                wake=wake,
                stop=stop,
                on_stats=_Publisher(shared, teller).publish,
                lane=lane,
            ).run()
    finally:
        store.close()
        engine.dispose()


class _Publisher:
    """Puts the runner's stats in shared memory, then tells the server of a new position."""

    def __init__(self, shared: SharedStats, teller: Connection) -> None:
        self._shared = shared
        self._teller = teller.fileno()
        os.set_blocking(self._teller, False)
        self._told = -1

    def publish(self, stats: RunnerStats) -> None:
        self._shared.publish(stats)
        if stats.position != self._told:
            self._told = stats.position
            _signal(self._teller, _NEWS)


def _listen(line: Connection, wake: Signal, stop: Signal) -> None:
    """Wake or stop the runner as the server says; the server gone (end of file) stops it."""
    while True:
        try:
            received = os.read(line.fileno(), 4096)
        except OSError:
            received = b""
        if not received or _STOP in received:
            _stop_now(wake, stop)
            return
        wake.set()


def _stop_now(wake: Signal, stop: Signal) -> None:
    stop.set()
    wake.set()
