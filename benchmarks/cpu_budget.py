"""Where the CPU of batch ingest goes, per process, and what rate two cores can then sustain.

Run: .venv/bin/python -m benchmarks.cpu_budget [--batches 100] [--backends sqlite,postgres]
     [--single SECONDS]

For each backend, `slaclock serve` runs in its default configuration (the
projections in a child process) and with projections off. This process posts
``--batches`` batches of 1,000 new tickets' `opened` events from 4 clients
(``benchmarks.ingest.batch_rate``), waits until the projections' lag is 0, and
reads from /proc the CPU-seconds (user and system) that each process spent
meanwhile: the server, its projection child, this client (which also encodes
the batches), and on PostgreSQL the database server's processes. Each is
printed as CPU microseconds per event, with the rate the machine's cores could
sustain if they did nothing else (a million microseconds per core, divided by
the total): with projections on, the highest batch ingest rate the projections
could keep up with, however they were scheduled.

``--single SECONDS`` posts single events instead, for that long, as
``benchmarks.ingest`` does (``wrk``, 32 connections; wrk's CPU counts as the
client's).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from benchmarks.default_config import settle_seconds
from benchmarks.ingest import LUA, batch_rate, define_bench_plan, wrk
from benchmarks.serverproc import TOKEN, database, server

_TICKS = os.sysconf("SC_CLK_TCK")
PORT = 8897


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the state on (the 3rd)


def cpu_seconds(pids: Iterable[int]) -> float:
    """User and system CPU of these processes (those gone meanwhile count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def processes(port: int) -> dict[str, list[int]]:
    """The server on ``port``, its children, and the PostgreSQL server's processes."""
    servers = [p for p in _pids() if f"serve --host 127.0.0.1 --port {port}" in _cmdline(p)]
    children = [p for p in _pids() if _stat_parent(p) in servers]
    return {"server": servers, "child": children, "postgres": postgres_pids()}


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes (its backends among them)."""
    return [p for p in _pids() if _cmdline(p).startswith("postgres")]


def _stat_parent(pid: int) -> int:
    try:
        return int(_stat(pid)[1])
    except FileNotFoundError:
        return -1


def measure(kind: str, projections: bool, batches: int, single: int = 0) -> dict[str, float]:
    """The CPU per event of ``batches`` batches, or of ``single`` seconds of single events."""
    with database(kind) as url, server(url, PORT, projections=projections) as base:
        define_bench_plan(base)
        settle_seconds(base)
        found = processes(PORT)
        before = {name: cpu_seconds(pids) for name, pids in found.items()}
        client = os.times()
        if single:
            rate, events = _singles(base, single)
        else:
            rate, events = batch_rate(base, batches), batches * 1000
        # Polled 4 times a second: each /readyz costs the server CPU that would count here.
        settled = settle_seconds(base, limit=300.0, step=0.25) if projections else 0.0
        spent = os.times()
        after = {name: cpu_seconds(pids) for name, pids in found.items()}
    figures = {name: (after[name] - before[name]) / events * 1e6 for name in found}
    figures["client"] = (_cpu(spent) - _cpu(client)) / events * 1e6
    figures["total"] = sum(figures.values())
    figures["rate"] = rate
    figures["settle_s"] = settled
    return figures


def _cpu(times: os.times_result) -> float:
    """This process's CPU and that of its finished children (``wrk``)."""
    return times.user + times.system + times.children_user + times.children_system


def _singles(base: str, seconds: int) -> tuple[float, int]:
    """Single events' rate (``wrk``, 32 connections) and how many were posted."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "ingest.lua"
        script.write_text(LUA % TOKEN)
        rate, _ = wrk(base, seconds, script)
    return rate, round(rate * seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--single", type=int, default=0, metavar="SECONDS")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    names = ("server", "child", "client", "postgres", "total")
    header = ("backend", "projections", *(f"{n} µs" for n in names), "ingest/s", "lag 0 after")
    print("".join(f"{h:>13}" for h in (*header, f"{cores} cores ev/s")))
    for kind in args.backends.split(","):
        for projections in (True, False):
            r = measure(kind, projections, args.batches, args.single)
            row = (
                kind,
                "on" if projections else "off",
                *(f"{r[n]:.1f}" for n in names),
                f"{r['rate']:.0f}",
                f"{r['settle_s']:.1f} s",
                f"{cores * 1e6 / r['total']:.0f}",
            )
            print("".join(f"{c:>13}" for c in row), flush=True)


if __name__ == "__main__":
    main()
