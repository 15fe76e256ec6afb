"""Build and wire slaclock's parts from the settings: used by the app and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from service.application import SlaService
from service.catalog import Catalog
from service.migrations.schema import prepared_engine
from service.settings import Settings
from service.storage.async_reads import AsyncReads
from service.storage.checkpointer import WalCheckpointer, state_checkpointer
from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore
from service.storage.lag_gate import LagGate
from service.storage.store_circuit import StoreCircuit
from service.storage.tokens import TokenStore
from service.storage.writer import Writer
from service.uptime_api import UptimeApi

# A listing read awaited on the event loop fails after this long, as a thread's read
# does when the connection's TCP timeout (10 s) gives up on a silent server.
ASYNC_READ_TIMEOUT_SECONDS = 10.0

if TYPE_CHECKING:
    from projections.service import ProjectionService, RunnerHandle


@dataclass
class Runtime:
    settings: Settings
    config: DatabaseConfig
    store: EventStore
    engine: Engine
    catalog: Catalog
    writer: Writer
    service: SlaService
    tokens: TokenStore
    projections: ProjectionService | None = None
    uptime: UptimeApi | None = None
    checkpointer: WalCheckpointer | None = None
    # The state file's, while the projections follow in a thread of this process.
    state_checkpointer: WalCheckpointer | None = None
    circuit: StoreCircuit | None = None
    # PostgreSQL: the event loop's connections for listing reads.
    async_reads: AsyncReads | None = None
    lag_gate: LagGate | None = None

    def probe(self) -> None:
        """Raise unless both paths to the database work: the event store's and SQLAlchemy's."""
        self.store.verify_file()
        self.store.ping()
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        if self.circuit is not None:
            self.circuit.stop()
        if self.projections is not None:
            self.projections.stop()
        if self.state_checkpointer is not None:
            self.state_checkpointer.stop()
        self.writer.stop()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.store.close()
        self.engine.dispose()


def build_runtime(settings: Settings, *, with_projections: bool | None = None) -> Runtime:
    """Open the store, start the writer, and (when asked) the in-process projections."""
    config = DatabaseConfig.parse(settings.database_url)
    engine = prepared_engine(config, auto_migrate=settings.auto_migrate)
    store = EventStore(config)
    tokens = TokenStore(engine, cache_seconds=settings.token_cache_seconds)
    catalog = Catalog(store)
    writer = Writer(store, catalog, max_events=settings.group_commit_max_events)
    runtime = Runtime(
        settings, config, store, engine, catalog, writer, SlaService(store, catalog, writer), tokens
    )
    runtime.uptime = UptimeApi(store, catalog, writer)
    if config.sqlite_path is not None:
        runtime.checkpointer = WalCheckpointer(config.sqlite_path)
        writer.on_commit(runtime.checkpointer.nudge)
        runtime.checkpointer.start()
    runtime.circuit = _store_circuit(runtime)
    writer.attach(runtime.circuit)
    runtime.circuit.on_close(store.reset_connections)
    writer.start()
    # The read side is always there for the projection endpoints; it follows the log
    # in this process only when enabled (else a `slaclock project` worker does).
    enabled = settings.projections_enabled if with_projections is None else with_projections
    projections = runtime.projections = build_projections(runtime, follows_here=enabled)
    if enabled:
        writer.on_commit(projections.wake)
        _hold_writes_for(projections, runtime)
        projections.start()
        runtime.circuit.on_close(projections.retry_now)
    runtime.circuit.start()
    return runtime


def _hold_writes_for(projections: ProjectionService, runtime: Runtime) -> None:
    """Writes wait while the in-process projections lag (service/storage/lag_gate.py)."""
    max_lag = runtime.settings.ingest_max_lag_seconds
    if max_lag <= 0:
        return
    gate = LagGate(
        max_lag,
        projections.local_position,
        projections.wait_for_async,
        head=runtime.store.max_position(),
    )
    runtime.writer.on_commit(gate.committed)
    runtime.writer.admit_with(gate)
    runtime.lag_gate = gate


def _store_circuit(runtime: Runtime) -> StoreCircuit:
    """The outage circuit: the probe's own deadline, and how long a stuck call may take."""
    settings = runtime.settings
    stuck = (
        settings.sqlite_lock_wait_seconds
        if runtime.config.kind == "sqlite"
        else settings.store_timeout_seconds
    )
    return StoreCircuit(
        runtime.probe,
        stuck_for=runtime.store.stuck_for,
        timeout=settings.store_timeout_seconds,
        stuck_timeout=stuck,
    )


def build_projections(runtime: Runtime, *, follows_here: bool) -> ProjectionService:
    """The read side; ``follows_here``: it will also follow the log (in a thread, or a child
    process with a checkpointer of its own)."""
    from projections.service import ProjectionService
    from projections.tracking import ensure_schema

    ensure_schema(runtime.engine)
    settings = runtime.settings
    if runtime.config.kind == "postgres":
        runtime.async_reads = AsyncReads(runtime.config, timeout=ASYNC_READ_TIMEOUT_SECONDS)
    in_child = settings.projections_child_process
    if follows_here and not in_child and runtime.state_checkpointer is None:
        runtime.state_checkpointer = state_checkpointer(runtime.config.state_path)
    return ProjectionService(
        runtime.engine,
        runtime.store,
        batch_size=settings.projection_batch_size,
        poll_seconds=settings.projection_poll_seconds,
        wait_timeout_seconds=settings.min_position_timeout_seconds,
        runner_factory=_child_process(settings) if in_child else None,
        checkpoints=runtime.state_checkpointer,
        read_driver=runtime.async_reads,
    )


def _child_process(settings: Settings) -> Callable[[], RunnerHandle]:
    from service.projection_process import ProjectionProcess

    return lambda: ProjectionProcess(settings)
