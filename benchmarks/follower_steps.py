"""How long the follower's one-event steps take, with the state file checkpointed by a thread
or by the commit that crosses SQLite's bound.

Run: .venv/bin/python -m benchmarks.follower_steps [--events 60000] [--steps 2000] [--rounds 2]

A `min_position` read asks the projections for its write at once, so at a few
hundred writes a second the follower applies a handful of events per step.
This writes ``--events`` new tickets' `opened` events through a real server
(projections off, SQLite), then, alternating the two ways ``--rounds`` times,
follows the first 1,000 into a scratch generation and times ``--steps``
steps of one event each: p50, p99 and the maximum, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.follower import SCRATCH, write_new_tickets
from benchmarks.projections import log_database
from projections.follower import Follower
from projections.schema import create_generation, drop_generation
from projections.tracking import ensure_schema, write_transaction
from service.storage.checkpointer import WalCheckpointer, state_checkpointer
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore


def step_times(url: str, steps: int, threaded: bool) -> list[float]:
    config = DatabaseConfig.parse(url)
    store, engine = EventStore(config, create_table=False), create_sql_engine(config)
    ensure_schema(engine)
    with engine.connect() as conn, write_transaction(conn):
        drop_generation(conn, SCRATCH)
        create_generation(conn, SCRATCH)
    checkpoints: WalCheckpointer | None = (
        state_checkpointer(config.state_path) if threaded else None
    )
    follower = Follower(engine, store, generation=SCRATCH, checkpoints=checkpoints)
    times = []
    try:
        follower.step(1000)
        for _ in range(steps):
            started = time.perf_counter()
            follower.step(1)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        follower.close()
        if checkpoints is not None:
            checkpoints.stop()
        with engine.connect() as conn, write_transaction(conn):
            drop_generation(conn, SCRATCH)
        store.close()
        engine.dispose()
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with log_database(None, False) as url:
        write_new_tickets(url, args.events)
        print(f"{'checkpoints':>14}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for _ in range(args.rounds):
            for threaded in (True, False):
                times = step_times(url, args.steps, threaded)
                p99 = times[int(len(times) * 0.99) - 1]
                by = "thread" if threaded else "commit"
                row = f"{by:>14}{statistics.median(times):>10.2f}{p99:>10.2f}{times[-1]:>10.2f}"
                print(row, flush=True)


if __name__ == "__main__":
    main()
