"""Deadline computations per second: slaclock's calendar maths against two libraries.

    .venv/bin/pip install businesstimedelta pytz pandas   # the [bench] extras
    .venv/bin/python -m benchmarks.business_time [--n 100000] [--baseline-n N]

Random starts (fixed seed) over 2024-2027 on a Mon-Fri 09:00-17:00
Europe/London calendar with England & Wales bank holidays, +4 and +24
business hours. Each implementation takes aware datetimes and returns them
(slaclock's epoch-integer path is measured too). businesstimedelta and
pandas get the same holidays, listed 2023-2032: businesstimedelta crashes
past its last listed holiday.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import holidays

from domain.business_time import BusinessCalendar, CalendarTimeline, to_us
from domain.calendar import parse_calendar
from domain.versions import Version

ZONE = "Europe/London"
AMOUNTS = (timedelta(hours=4), timedelta(hours=24))
FIRST, LAST = datetime(2024, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
SEED = 20261122

Add = Callable[[datetime, timedelta], Any]


def uk_calendar() -> BusinessCalendar:
    week = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    holidays_source = {"country": "GB", "subdivision": "ENG"}
    return BusinessCalendar(
        parse_calendar({"timezone": ZONE, "week": week, "holidays": holidays_source})
    )


def bank_holidays() -> list[date]:
    found = holidays.country_holidays("GB", subdiv="ENG", years=range(2023, 2033))
    return sorted(found)


def random_starts(count: int) -> list[datetime]:
    rng = random.Random(SEED)
    span = int((LAST - FIRST).total_seconds())
    return [FIRST + timedelta(seconds=rng.randrange(span)) for _ in range(count)]


def businesstimedelta_adder() -> Add:
    import businesstimedelta as btd
    import pytz

    zone = pytz.timezone(ZONE)
    workday = btd.WorkDayRule(
        start_time=datetime.min.time().replace(hour=9),
        end_time=datetime.min.time().replace(hour=17),
        working_days=[0, 1, 2, 3, 4],
        tz=zone,
    )
    rules = btd.Rules([workday, btd.HolidayRule(frozenset(bank_holidays()), tz=zone)])
    deltas = {amount: btd.BusinessTimeDelta(rules, timedelta=amount) for amount in AMOUNTS}
    return lambda start, amount: start + deltas[amount]


def pandas_adder() -> Add:
    import pandas as pd

    offsets = {
        amount: pd.offsets.CustomBusinessHour(
            n=int(amount / timedelta(hours=1)),
            start="09:00",
            end="17:00",
            weekmask="Mon Tue Wed Thu Fri",
            holidays=bank_holidays(),
        )
        for amount in AMOUNTS
    }
    return lambda start, amount: (
        pd.Timestamp(start).tz_convert(ZONE) + offsets[amount]
    ).to_pydatetime()


def timed(add: Add, starts: Sequence[Any], amount: Any, repeat: int) -> tuple[float, list[Any]]:
    """Best ops/s over ``repeat`` runs, and the results of the last one."""
    best, results = 0.0, []
    for _ in range(repeat):
        began = time.perf_counter()
        results = [add(start, amount) for start in starts]
        best = max(best, len(starts) / (time.perf_counter() - began))
    return best, results


def compile_cost() -> float:
    """Seconds to compile 2024-2027 from cold (holidays resolved, chunks built)."""
    began = time.perf_counter()
    cal = uk_calendar()
    cal.business_us(to_us(FIRST), to_us(LAST))
    return time.perf_counter() - began


def disagreements(
    cal: BusinessCalendar, ours: Sequence[datetime], theirs: Sequence[Any]
) -> tuple[int, int]:
    """(all disagreements, those where we are due at a close and they at the next opening)."""
    total = at_close = 0
    for mine, other in zip(ours, theirs, strict=False):
        if mine == other:
            continue
        total += 1
        mine_us = to_us(mine)
        next_opening = cal.add_us(mine_us, 1) - 1
        if to_us(other) == next_opening and next_opening > mine_us:
            at_close += 1
    return total, at_close


Rows = dict[str, list[float]]


def measure_ours(cal: BusinessCalendar, starts: list[datetime], rows: Rows) -> dict[Any, Any]:
    """slaclock's three paths; returns the datetime results per amount."""
    timeline = CalendarTimeline("uk", [Version(1, None, FIRST, cal.spec)])
    epoch_starts = [to_us(start) for start in starts]
    cal.business_us(to_us(FIRST), to_us(LAST + timedelta(days=30)))  # warm the chunks
    ours: dict[Any, Any] = {}
    for amount in AMOUNTS:
        rate, ours[amount] = timed(cal.add_business_time, starts, amount, 3)
        rows.setdefault("slaclock BusinessCalendar, datetime in/out", []).append(rate)
        rate, _ = timed(timeline.add_business_time, starts, amount, 3)
        rows.setdefault("slaclock CalendarTimeline, datetime in/out", []).append(rate)
        rate, _ = timed(cal.add_us, epoch_starts, amount // timedelta(microseconds=1), 3)
        rows.setdefault("slaclock add_us, epoch ints in/out", []).append(rate)
    return ours


def measure_baselines(
    cal: BusinessCalendar, sample: list[datetime], ours: dict[Any, Any], rows: Rows
) -> None:
    for name, adder in (
        ("businesstimedelta (frozenset of dates)", businesstimedelta_adder()),
        ("pandas CustomBusinessHour (per item)", pandas_adder()),
    ):
        for amount in AMOUNTS:
            rate, theirs = timed(adder, sample, amount, 1)
            rows.setdefault(name, []).append(rate)
            total, at_close = disagreements(cal, ours[amount], theirs)
            print(
                f"{name}, +{amount // timedelta(hours=1)}h: {total} of {len(sample)} disagree"
                f" ({at_close} of them: ours due at a close, theirs at the next opening)"
            )


def run(count: int, baseline_count: int) -> None:
    print(f"cold compile of 2024-2027: {compile_cost() * 1000:.1f} ms")
    cal = uk_calendar()
    starts = random_starts(count)
    rows: Rows = {}
    ours = measure_ours(cal, starts, rows)
    measure_baselines(cal, starts[:baseline_count], ours, rows)
    report(rows, count, baseline_count)


def report(rows: Rows, count: int, baseline_count: int) -> None:
    print(f"\n{count} random starts for slaclock, {baseline_count} for the baselines\n")
    print("| implementation | +4 business hours | +24 business hours |")
    print("|---|---|---|")
    for name, rates in rows.items():
        print(f"| {name} | {rates[0]:,.0f}/s | {rates[1]:,.0f}/s |")
    ours_dt = rows["slaclock BusinessCalendar, datetime in/out"]
    ours_us = rows["slaclock add_us, epoch ints in/out"]
    print("\n| ratio (ours / baseline) | +4h datetime | +24h datetime | +4h epoch | +24h epoch |")
    print("|---|---|---|---|---|")
    for name, rates in rows.items():
        if name.startswith("slaclock"):
            continue
        ratios = [ours_dt[0] / rates[0], ours_dt[1] / rates[1]]
        ratios += [ours_us[0] / rates[0], ours_us[1] / rates[1]]
        print(f"| {name} | " + " | ".join(f"{r:,.0f}x" for r in ratios) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000, help="random starts for slaclock")
    parser.add_argument(
        "--baseline-n", type=int, default=None, help="starts for the baselines (default: --n)"
    )
    args = parser.parse_args()
    run(args.n, args.baseline_n if args.baseline_n is not None else args.n)


if __name__ == "__main__":
    main()
