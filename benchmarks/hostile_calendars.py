"""One cold ticket evaluation on hostile calendars, as a ratio to an ordinary one.

    .venv/bin/python -m benchmarks.hostile_calendars [--repeat 3]

Each case evaluates one ticket (``domain.clocks.evaluate``, as
``GET /v1/tickets/{id}`` does) with every compiled calendar cache emptied
first, so it pays for all the calendar compilation it needs. The baseline is
a Mon-Fri 09:00-17:00 Europe/London office calendar with a 10-working-day
target read a day after the opening. The best of
``--repeat`` runs is shown.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.business_time import CalendarTimeline, compiled_calendar
from domain.calendar import parse_calendar
from domain.clocks import evaluate
from domain.events import TicketOpened, fingerprint, ticket_uuid
from domain.policy import parse_policy
from domain.versions import Version

OPENED_AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
OFFICE = {
    "timezone": "Europe/London",
    "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}
MINUTE_A_WEEK = {"timezone": "Europe/Paris", "week": {"mon": [["09:00", "09:01"]]}}
HOUR_A_WEEK = {"timezone": "Europe/Paris", "week": {"wed": [["10:00", "11:00"]]}}


@dataclass(frozen=True)
class Case:
    name: str
    calendar: dict[str, Any]
    target: dict[str, float]
    at: datetime


SOON = datetime(2026, 3, 3, tzinfo=UTC)
LAST = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
CASES = (
    Case("office, 10 working days, read a day later", OFFICE, {"working_days": 10}, SOON),
    Case("1 minute a week, 8,760 hours (never due)", MINUTE_A_WEEK, {"hours": 8760}, SOON),
    Case("1 hour a week, 8,760 hours (due in 2193)", HOUR_A_WEEK, {"hours": 8760}, SOON),
    Case("office, as_of 2199-12-31T23:59:59Z", OFFICE, {"working_days": 10}, LAST),
    Case("1 minute a week, as_of 2199-12-31T23:59:59Z", MINUTE_A_WEEK, {"hours": 8760}, LAST),
)


def _evaluate_once(case: Case) -> float:
    compiled_calendar.cache_clear()
    spec = parse_calendar(case.calendar)
    timelines: dict[str, CalendarTimeline] = {}

    def lookup(calendar_id: str) -> CalendarTimeline:
        return timelines.setdefault(
            calendar_id, CalendarTimeline(calendar_id, [Version(1, None, OPENED_AT, spec)])
        )

    policy = parse_policy(
        {
            "name": "bench",
            "calendar": "cal",
            "priorities": ["P1"],
            "default_priority": "P1",
            "metrics": {"resolution": {"targets": {"P1": case.target}}},
        }
    )
    data = {"plan": "bench", "kind": "incident"}
    opened = TicketOpened(
        originator_id=ticket_uuid("T-1"),
        originator_version=1,
        timestamp=OPENED_AT,
        ticket_id="T-1",
        event_id="e1",
        occurred_at=OPENED_AT,
        data=data,
        fingerprint=fingerprint("opened", OPENED_AT, data),
    )
    started = time.perf_counter()
    evaluate(
        "T-1", [opened], Version(1, None, OPENED_AT, policy), lookup, case.at, with_segments=False
    )
    return time.perf_counter() - started


def best_of(repeat: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    baseline = best_of(args.repeat, lambda: _evaluate_once(CASES[0]))
    for case in CASES:
        seconds = best_of(args.repeat, lambda case=case: _evaluate_once(case))  # type: ignore[misc]
        print(f"{case.name:48} {seconds * 1000:9.1f} ms  {seconds / baseline:8.1f}x baseline")


if __name__ == "__main__":
    main()
