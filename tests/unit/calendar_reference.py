"""A slow, obviously-right business-time reference that steps minute by minute.

It reads the rules straight from sla-semantics.md and shares no code with
domain/business_time.py: a minute [t, t + 1 min) is open when the local wall
clock at t (zoneinfo) falls in an open interval of that local date, and that
date is a working date. Only valid for whole-minute instants (zone offsets
and HH:MM intervals are whole minutes, so a minute is open or closed as a
whole).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from domain.calendar import CalendarSpec, GeneratedHolidays
from domain.versions import Version

MINUTE = timedelta(minutes=1)


@cache
def _country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def _is_holiday(spec: CalendarSpec, day: date) -> bool:
    if isinstance(spec.holidays, GeneratedHolidays):
        source = spec.holidays
        return day in _country_holidays(source.country, source.subdivision, day.year)
    return day in spec.holidays


def open_at(spec: CalendarSpec, instant: datetime) -> bool:
    local = instant.astimezone(ZoneInfo(spec.timezone))
    day = local.date()
    second = local.hour * 3600 + local.minute * 60 + local.second
    if day in spec.extra_closed:
        return False
    if day in spec.extra_open:
        intervals = spec.week[0]
    elif _is_holiday(spec, day):
        return False
    else:
        intervals = spec.week[day.weekday()]
    return any(start <= second < end for start, end in intervals)


def _check_minute(instant: datetime) -> None:
    assert instant.second == 0, "whole minutes only"
    assert instant.microsecond == 0, "whole minutes only"


def version_at(versions: Sequence[Version[CalendarSpec]], instant: datetime) -> CalendarSpec:
    """Latest start at or before the instant (ties: higher number); else the earliest."""
    started = [v for v in versions if v.effective_from is None or v.effective_from <= instant]

    def key(v: Version[CalendarSpec]) -> tuple[datetime, int]:
        return (v.effective_from or datetime.min.replace(tzinfo=UTC), v.number)

    return max(started, key=key).value if started else min(versions, key=key).value


def open_minutes(
    versions: Sequence[Version[CalendarSpec]], start: datetime, end: datetime
) -> list[bool]:
    """One flag per minute of [start, end), each on the version in effect then."""
    _check_minute(start)
    _check_minute(end)
    flags = []
    at = start
    while at < end:
        flags.append(open_at(version_at(versions, at), at))
        at += MINUTE
    return flags


def single(spec: CalendarSpec) -> list[Version[CalendarSpec]]:
    return [Version(1, None, datetime(2000, 1, 1, tzinfo=UTC), spec)]


def business_time(
    versions: Sequence[Version[CalendarSpec]], start: datetime, end: datetime
) -> timedelta:
    return MINUTE * sum(open_minutes(versions, start, end))


def add_business_time(
    versions: Sequence[Version[CalendarSpec]],
    start: datetime,
    amount: timedelta,
    horizon: timedelta = timedelta(days=120),
) -> datetime:
    """Step until ``amount`` (whole minutes) has accrued; due at the end of that minute."""
    _check_minute(start)
    assert amount % MINUTE == timedelta(0)
    if amount == timedelta(0):
        return start
    accrued = timedelta(0)
    at = start
    while at < start + horizon:
        if open_at(version_at(versions, at), at):
            accrued += MINUTE
            if accrued == amount:
                return at + MINUTE
        at += MINUTE
    raise AssertionError("reference horizon exceeded")
