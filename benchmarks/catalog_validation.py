"""Validating catalog documents at their size limits, as a ratio to a typical one.

    .venv/bin/python -m benchmarks.catalog_validation [--repeat 5]

Each line is the best of ``--repeat`` runs of ``service.ingest.validated_version``
(parse, validate, canonical document), which runs on the request's side before
the writer sees the version. The baseline is the API's example plan (4
priorities) and calendar (a few holidays).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from domain.errors import ValidationFailed
from service.ingest import CatalogKind, validated_version
from tests.api.fixtures import DUBLIN, standard_policy


def _names(count: int) -> list[str]:
    return [f"P{n}" for n in range(count)]


def _largest_policy() -> dict[str, Any]:
    names = _names(100)
    rules = [{"when": {"customer": f"c{n}"}, "priority": names[n % 100]} for n in range(1000)]
    targets = {name: {"hours": 1 + n} for n, name in enumerate(names)}
    return standard_policy("cal") | {
        "priorities": names,
        "default_priority": "P0",
        "priority_rules": rules,
        "calendar_overrides": dict.fromkeys(names, "24x7"),
        "metrics": {m: {"targets": targets} for m in ("response", "relief", "resolution")},
    }


def _largest_calendar() -> dict[str, Any]:
    days = [(date(2026, 1, 1) + timedelta(days=n)).isoformat() for n in range(30_000)]
    hourly = [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(24)]
    week = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), hourly)
    return DUBLIN | {
        "week": week,
        "holidays": days[:10_000],
        "extra_closed": days[10_000:20_000],
        "extra_open": days[20_000:],
    }


CASES: list[tuple[str, CatalogKind, dict[str, Any]]] = [
    ("policy: the API example", "policy", standard_policy("cal")),
    ("calendar: the API example", "calendar", DUBLIN),
    ("policy: 100 priorities, 1,000 rules, 300 targets", "policy", _largest_policy()),
    ("calendar: 3 x 10,000 dates, 24 intervals a day", "calendar", _largest_calendar()),
    (
        "policy: 40,000 priorities (refused)",
        "policy",
        standard_policy("cal") | {"priorities": _names(40_000)},
    ),
]


def _once(kind: CatalogKind, document: dict[str, Any]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(ValidationFailed):
        validated_version(kind, "key", document, None)
    return time.perf_counter() - started


def best_of(repeat: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    baseline = best_of(args.repeat, lambda: _once("policy", standard_policy("cal")))
    for name, kind, document in CASES:
        seconds = best_of(args.repeat, lambda k=kind, d=document: _once(k, d))  # type: ignore[misc]
        print(f"{name:52} {seconds * 1000:9.2f} ms  {seconds / baseline:8.1f}x baseline")


if __name__ == "__main__":
    main()
