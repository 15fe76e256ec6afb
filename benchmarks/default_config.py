"""The default configuration against projections off, in the same run (issue 13).

Run: .venv/bin/python -m benchmarks.default_config [--seconds 10] [--backends sqlite,postgres]
     [--rounds 2] [--configs default,child,thread] [--batches 60]

For each backend, `slaclock serve` is started alternately as users run it
(projections on, the default) and with `SLA_PROJECTIONS_ENABLED=false`, and each
time measures: `/healthz` and single-event ingest with `wrk -t2 -c32`, then
batches of 1,000 new tickets' `opened` events from 4 clients. With projections
on it also samples `/readyz` during the batches (the projections' lag) and
times how long after the last batch the lag reaches 0. Prints each run and the
ratios of the default to projections off (goal: both ≥ 0.8). ``--configs``
names the configurations with projections to compare: ``default`` (as users
run it), ``child`` (SLA_PROJECTIONS_CHILD_PROCESS=true), ``thread`` (=false) and
``ungated`` (SLA_INGEST_MAX_LAG_SECONDS=0: writes never wait for the projections);
``lag=S`` sets that bound to S seconds.
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx

from benchmarks.ingest import batch_rate, define_bench_plan, single_event_rates
from benchmarks.serverproc import database, server


class LagSampler:
    """Samples the projections' lag from /readyz on a thread while the batches run."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.peak_seconds = 0.0
        self.peak_events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            while not self._stop.wait(0.2):
                lag = _lag(http)
                self.peak_seconds = max(self.peak_seconds, lag[0])
                self.peak_events = max(self.peak_events, lag[1])


def _lag(http: httpx.Client) -> tuple[float, int]:
    projections = http.get("/readyz").json()["checks"].get("projections", {})
    return float(projections.get("lag_seconds", 0.0)), int(projections.get("lag_events", 0))


def settle_seconds(base: str, limit: float = 60.0, step: float = 0.02) -> float:
    """How long until the projections' lag is 0 (after the last write), to within ``step``."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=10) as http:
        while _lag(http)[1] > 0 and time.perf_counter() - started < limit:
            time.sleep(step)
    return time.perf_counter() - started


CONFIGS: dict[str, dict[str, str]] = {
    "default": {},
    "child": {"SLA_PROJECTIONS_CHILD_PROCESS": "true"},
    "thread": {"SLA_PROJECTIONS_CHILD_PROCESS": "false"},
    "ungated": {"SLA_INGEST_MAX_LAG_SECONDS": "0"},
}


def measure(kind: str, seconds: int, port: int, config: str, batches: int = 60) -> dict[str, float]:
    projections = config != "off"
    extra = CONFIGS.get(config, {})
    if config.startswith("lag="):  # e.g. lag=0.5: the gate at another bound
        extra = {"SLA_INGEST_MAX_LAG_SECONDS": config.removeprefix("lag=")}
    with database(kind) as url, server(url, port, projections=projections, **extra) as base:
        define_bench_plan(base)
        health, single, bad = single_event_rates(base, seconds)
        if projections:
            settle_seconds(base)
        with LagSampler(base) as lag:
            batch = batch_rate(base, batches=batches)
        settle = settle_seconds(base) if projections else 0.0
    return {
        "healthz": health,
        "single": single,
        "non_2xx": bad,
        "batch": batch,
        "lag_peak_s": lag.peak_seconds,
        "lag_peak_events": lag.peak_events,
        "settle_s": settle,
    }


def _row(kind: str, config: str, r: dict[str, float]) -> str:
    on = config != "off"
    cells = (
        kind,
        config,
        f"{r['healthz']:.0f}",
        f"{r['single']:.0f}",
        f"{r['single'] / r['healthz']:.2f}",
        f"{r['batch']:.0f}",
        f"{r['lag_peak_s']:.2f}" if on else "",
        f"{r['lag_peak_events']:.0f}" if on else "",
        f"{r['settle_s']:.2f}" if on else "",
    )
    return "".join(f"{c:>13}" for c in cells)


def _ratios(kind: str, config: str, runs: dict[str, list[dict[str, float]]]) -> None:
    for metric in ("single", "batch"):
        ratios = [
            (a[metric] / a["healthz"]) / (b[metric] / b["healthz"])
            if metric == "single"
            else a[metric] / b[metric]
            for a, b in zip(runs[config], runs["off"], strict=True)
        ]
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"{kind}: {config} ÷ projections off, {metric}: {shown} (goal ≥ 0.8)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--batches", type=int, default=60, help="batches of 1,000 (600 is about a minute)"
    )
    parser.add_argument(
        "--configs",
        default="default",
        help="with projections, against them off: default, child, thread, ungated, lag=S (list)",
    )
    args = parser.parse_args()
    configs = [*args.configs.split(","), "off"]
    columns = ("backend", "config", "healthz/s", "single/s", "ratio", "batch ev/s")
    extra = ("lag peak s", "lag peak ev", "to lag 0 s")
    print("".join(f"{h:>13}" for h in (*columns, *extra)))
    for n, kind in enumerate(args.backends.split(",")):
        runs: dict[str, list[dict[str, float]]] = {c: [] for c in configs}
        for _ in range(args.rounds):
            for config in configs:
                r = measure(kind, args.seconds, 8800 + n, config, args.batches)
                runs[config].append(r)
                print(_row(kind, config, r), flush=True)
        for config in configs[:-1]:
            _ratios(kind, config, runs)


if __name__ == "__main__":
    main()
