"""`make ha-test`: slaclock on a pg_auto_failover pair, through a primary's crash.

A monitor and two PostgreSQL 15 nodes with synchronous (quorum) replication;
two `slaclock serve` (projections off) and two `slaclock project` workers, all
given one multi-host URL with ``target_session_attrs=read-write``. Under a
steady load of single and batch posts, the primary node is killed with SIGKILL
(keeper, postmaster and backends), then the active projection worker is. The
run fails unless:

- every event acknowledged with a 2xx is stored exactly once;
- every request was answered within the client's 3 s bound, with 2xx or 503
  carrying Retry-After, and nothing else;
- writes succeed again without restarting anything;
- the standby projection worker takes over;
- the read models equal those a fresh `slaclock rebuild` makes from the log.

Run: ``python -m tests.ha.scenario`` (as root or as a user who may run
pg_autoctl; the Debian packages postgresql-15-auto-failover and
pg-auto-failover-cli must be installed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select

from projections.schema import tables_for
from projections.tracking import live_generation, read_position
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore
from tests.ha.cluster import Formation
from tests.ha.load import Load
from tests.ha.processes import (
    ADMIN_TOKEN,
    Process,
    run_cli,
    server,
    slaclock_env,
    wait_ready,
    wait_worker,
    worker,
    worker_state,
)
from tests.support.server import free_port

SERVE_PORTS = 2


@dataclass
class Figures:
    setup_seconds: float = 0.0
    promoted_seconds: float = 0.0  # kill to a read-write primary behind the URL
    failover_seconds: float = 0.0  # kill to the first 2xx write sent after it
    worker_takeover_seconds: float = 0.0
    restarted_seconds: float = 0.0  # postmaster SIGKILL to a read-write connection again
    restart_seconds: float = 0.0  # postmaster SIGKILL to the first 2xx write sent after it
    refused_503: int = 0
    other_errors: int = 0
    max_latency_seconds: float = 0.0
    acknowledged: int = 0
    stored: int = 0
    duplicates: int = 0
    missing: int = 0
    read_models_equal: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=float, default=5, help="seconds of load before the kill")
    parser.add_argument("--after", type=float, default=8, help="seconds of load after recovery")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="slaclock-ha-"))
    root.chmod(0o755)  # pg_autoctl runs as postgres when the driver is root
    formation = Formation(root / "pg")
    processes: list[Process] = []
    figures = Figures()
    started = time.monotonic()
    try:
        run_scenario(formation, processes, figures, args)
    except Exception as error:  # any failure is reported, with where the logs are kept
        figures.failures.append(f"{type(error).__name__}: {error}")
    finally:
        for process in processes:
            process.stop()
        formation.stop()
        if not args.keep and not figures.failures:
            shutil.rmtree(root, ignore_errors=True)  # the formation and every log
    report(figures, time.monotonic() - started, root)
    return 1 if figures.failures else 0


def run_scenario(
    formation: Formation, processes: list[Process], figures: Figures, args: argparse.Namespace
) -> None:
    setup = time.monotonic()
    formation.start()
    env = slaclock_env(formation.url())
    logs = formation.root.parent
    run_cli(env, "policies", "load", "--builtin")
    urls = []
    for i in range(SERVE_PORTS):
        port = free_port()
        process = server(logs, f"serve{i + 1}", port, env)
        processes.append(process)
        process.start()
        urls.append(f"http://127.0.0.1:{port}")
        wait_ready(process, urls[-1])
    workers = [worker(logs, f"project{i + 1}", env) for i in range(2)]
    processes.extend(workers)
    workers[0].start()
    wait_worker(workers[0], "active", 60)
    workers[1].start()
    wait_worker(workers[1], "standing by", 60)
    figures.setup_seconds = time.monotonic() - setup

    load = Load(urls, ADMIN_TOKEN)
    load.start()
    try:
        time.sleep(args.before)
        primary = formation.primary()
        killed_at = time.monotonic()
        formation.kill_node(primary)
        print(f"ha: killed {primary.name} (pg_autoctl, postmaster, backends)", flush=True)
        figures.promoted_seconds = formation.wait_writable(90)
        figures.failover_seconds = _first_write_after(load, killed_at, 90)
        print(f"ha: writes back after {figures.failover_seconds:.2f} s; {formation.describe()}")
        time.sleep(args.after / 2)
        figures.worker_takeover_seconds = _kill_active_worker(workers)
        time.sleep(args.after / 2)
        # The lone primary now: its keeper restarts PostgreSQL in place (crash recovery).
        survivor = formation.primary()
        killed_at = time.monotonic()
        formation.kill_postmaster(survivor)
        print(f"ha: killed the postmaster of {survivor.name} only", flush=True)
        figures.restarted_seconds = formation.wait_writable(90)
        figures.restart_seconds = _first_write_after(load, killed_at, 90)
        time.sleep(args.after / 2)
    finally:
        load.stop()
    _check(figures, load, urls, env, workers)


def _first_write_after(load: Load, killed_at: float, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with load.outcome.lock:
            sent_after = [answered for sent, answered in load.outcome.writes_ok if sent > killed_at]
        if sent_after:
            return min(sent_after) - killed_at
        time.sleep(0.05)
    raise RuntimeError(f"no write succeeded within {timeout} s of the kill")


def _kill_active_worker(workers: list[Process]) -> float:
    """SIGKILL the active worker; seconds until the other one logs that it is active."""
    deadline = time.monotonic() + 30
    while True:
        active = [w for w in workers if worker_state(w) == "active"]
        if len(active) == 1:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"not one active worker after the failover: {active}")
        time.sleep(0.1)
    victim = active[0]
    standby = next(w for w in workers if w is not victim)
    victim.kill()
    print(f"ha: killed the active projection worker {victim.name}", flush=True)
    return wait_worker(standby, "active", 60)


# --- the checks ---------------------------------------------------------------------------


def _check(
    figures: Figures, load: Load, urls: list[str], env: dict[str, str], workers: list[Process]
) -> None:
    outcome = load.outcome
    figures.refused_503 = outcome.refused
    figures.other_errors = len(outcome.errors)
    figures.max_latency_seconds = outcome.max_latency
    figures.statuses = dict(outcome.statuses)
    figures.acknowledged = len(outcome.acked)
    for message in outcome.errors[:10]:
        figures.failures.append(f"request error: {message}")
    _check_stored(figures, outcome.acked, urls[0])
    config = DatabaseConfig.parse(env["SLA_DATABASE_URL"])
    engine = create_sql_engine(config)
    try:
        _wait_caught_up(engine, config, 60)
        for process in workers:
            process.stop()
        live = _snapshot(engine)
        print(run_cli(env, "rebuild").strip().splitlines()[-1], flush=True)
        rebuilt = _snapshot(engine)
    finally:
        engine.dispose()
    figures.read_models_equal = live == rebuilt
    if not figures.read_models_equal:
        differing = [name for name in live if live[name] != rebuilt.get(name)]
        figures.failures.append(f"read models differ from a rebuild in: {differing}")


def _check_stored(figures: Figures, acked: dict[str, str], base_url: str) -> None:
    """Read back every ticket through the audit endpoint: each acked id once, no duplicate."""
    tickets = sorted(set(acked.values()))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with (
        httpx.Client(base_url=base_url, headers=headers, timeout=30) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        histories = list(pool.map(lambda t: _history(client, t), tickets))
    seen: Counter[str] = Counter(event_id for history in histories for event_id in history)
    figures.stored = sum(seen.values())
    figures.duplicates = sum(n - 1 for n in seen.values() if n > 1)
    figures.missing = sum(1 for event_id in acked if seen[event_id] == 0)
    if figures.duplicates or figures.missing:
        figures.failures.append(
            f"{figures.missing} acknowledged events missing, {figures.duplicates} stored twice"
        )


def _history(client: httpx.Client, ticket: str) -> list[str]:
    response = client.get(f"/v1/tickets/{ticket}/events")
    response.raise_for_status()
    return [str(e["event_id"]) for e in response.json()["events"]]


def _wait_caught_up(engine: Engine, config: DatabaseConfig, timeout: float) -> None:
    store = EventStore(config, create_table=False)
    try:
        head = store.max_position()
    finally:
        store.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if read_position(conn, tables_for(live_generation(conn))) >= head:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the projections did not reach position {head} within {timeout} s")


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the live generation's tables, keyed by the table's unprefixed name."""
    with engine.connect() as conn:
        tables = tables_for(live_generation(conn))
        return {
            table.name.split("_", 2)[2]: sorted(tuple(r) for r in conn.execute(select(table)))
            for table in tables.data_tables
        }


def report(figures: Figures, seconds: float, root: Path) -> None:
    lines = [
        f"setup (formation, servers, workers): {figures.setup_seconds:.1f} s",
        f"new primary writable (kill to read-write connection): {figures.promoted_seconds:.2f} s",
        f"time to recover (kill to first 2xx write): {figures.failover_seconds:.2f} s",
        f"projection worker takeover: {figures.worker_takeover_seconds:.2f} s",
        f"postmaster restarted (kill to read-write connection): {figures.restarted_seconds:.2f} s",
        f"postmaster restarted (kill to first 2xx write): {figures.restart_seconds:.2f} s",
        f"requests refused (503 + Retry-After): {figures.refused_503}",
        f"requests answered 2xx: {sum(n for k, n in figures.statuses.items() if ' 2' in k)}",
        f"requests errored otherwise: {figures.other_errors}",
        f"slowest answer: {figures.max_latency_seconds:.2f} s",
        f"answers by status: {json.dumps(figures.statuses, sort_keys=True)}",
        f"events acknowledged: {figures.acknowledged}, stored: {figures.stored}",
        f"missing: {figures.missing}, stored twice: {figures.duplicates}",
        f"read models equal a fresh rebuild: {figures.read_models_equal}",
        f"whole scenario: {seconds:.1f} s",
    ]
    print("\n".join(f"ha: {line}" for line in lines))
    for failure in figures.failures:
        print(f"ha: FAILED: {failure}", file=sys.stderr)
    if figures.failures:
        print(f"ha: logs kept in {root}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
