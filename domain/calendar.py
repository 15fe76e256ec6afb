"""Calendar versions: the document a client PUTs, validated into a CalendarSpec.

A calendar says when the SLA clock may run: open intervals per weekday in
local wall-clock time of an IANA zone, holidays (a generated source or a list
of dates), ``extra_closed`` / ``extra_open`` adjustments, and how many
business hours one "working day" target means. The maths lives in
``domain.business_time``; this module only describes and validates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_package

from domain.errors import FieldError, ValidationFailed

DAY_SECONDS = 86_400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Interval = tuple[int, int]  # local seconds from midnight: [start, end), end may be 86400
DayHours = tuple[Interval, ...]


@dataclass(frozen=True)
class GeneratedHolidays:
    """Public holidays resolved with the ``holidays`` package, year by year."""

    country: str
    subdivision: str | None = None


@dataclass(frozen=True)
class CalendarSpec:
    """One calendar version. ``week`` holds seven days, Monday first."""

    timezone: str
    week: tuple[DayHours, ...]
    holidays: GeneratedHolidays | frozenset[date] = field(default_factory=frozenset)
    extra_closed: frozenset[date] = field(default_factory=frozenset)
    extra_open: frozenset[date] = field(default_factory=frozenset)
    hours_per_working_day: float = 8.0


ALWAYS_OPEN_ID = "24x7"
ALWAYS_OPEN = CalendarSpec(
    timezone="UTC",
    week=tuple(((0, DAY_SECONDS),) for _ in WEEKDAYS),
    hours_per_working_day=24.0,
)

_TOP_LEVEL = {
    "timezone",
    "week",
    "holidays",
    "extra_closed",
    "extra_open",
    "hours_per_working_day",
    # Versioning metadata: the caller reads it; it is not part of the spec.
    "effective_from",
}
# Document sizes: far above any real calendar, low enough that validating and
# compiling one stays cheap (each interval is compiled once per day of a year).
MAX_INTERVALS_PER_DAY = 24
MAX_DATES = 10_000  # per list: holidays, extra_closed, extra_open
_HHMM = re.compile(r"(\d{2}):(\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_calendar(doc: Mapping[str, Any]) -> CalendarSpec:
    """Validate a ``PUT /v1/calendars/{id}`` body; every bad field is reported at once."""
    if not isinstance(doc, Mapping):
        raise ValidationFailed.single("", "must be a JSON object")
    errors: list[FieldError] = [
        FieldError(str(key), "unknown field") for key in doc if key not in _TOP_LEVEL
    ]
    timezone = _parse_timezone(doc.get("timezone"), errors)
    week = _parse_week(doc.get("week"), errors)
    holidays = _parse_holidays(doc.get("holidays", []), errors)
    extra_closed = _parse_dates(doc.get("extra_closed", []), "extra_closed", errors)
    extra_open = _parse_dates(doc.get("extra_open", []), "extra_open", errors)
    _check_disjoint(doc.get("extra_open", []), extra_open & extra_closed, errors)
    hours = _parse_hours(doc.get("hours_per_working_day", 8), errors)
    if errors:
        raise ValidationFailed(errors)
    return CalendarSpec(timezone, week, holidays, extra_closed, extra_open, hours)


def calendar_document(spec: CalendarSpec) -> dict[str, Any]:
    """The canonical JSON form of a version (what GET returns)."""
    holidays: Any
    if isinstance(spec.holidays, GeneratedHolidays):
        holidays = {"country": spec.holidays.country, "subdivision": spec.holidays.subdivision}
    else:
        holidays = _date_list(spec.holidays)
    hours = spec.hours_per_working_day
    return {
        "timezone": spec.timezone,
        "week": {
            name: [[_clock(a), _clock(b)] for a, b in day]
            for name, day in zip(WEEKDAYS, spec.week, strict=True)
        },
        "holidays": holidays,
        "extra_closed": _date_list(spec.extra_closed),
        "extra_open": _date_list(spec.extra_open),
        "hours_per_working_day": int(hours) if float(hours).is_integer() else hours,
    }


# --- fields -------------------------------------------------------------------


def _parse_timezone(value: Any, errors: list[FieldError]) -> str:
    if not isinstance(value, str) or not value:
        errors.append(FieldError("timezone", "required: an IANA time zone name"))
        return ""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        errors.append(FieldError("timezone", f"unknown IANA time zone {value!r}"))
    return value


def _parse_week(value: Any, errors: list[FieldError]) -> tuple[DayHours, ...]:
    if not isinstance(value, Mapping):
        errors.append(FieldError("week", "required: an object with keys mon..sun"))
        return ()
    for key in value:
        if key not in WEEKDAYS:
            errors.append(FieldError(f"week.{key}", "unknown weekday (use mon..sun)"))
    week = tuple(_parse_day(value.get(name, []), f"week.{name}", errors) for name in WEEKDAYS)
    if not any(week) and not any(f.field.startswith("week") for f in errors):
        errors.append(FieldError("week", "at least one weekday must have open hours"))
    return week


def _parse_day(value: Any, path: str, errors: list[FieldError]) -> DayHours:
    if not isinstance(value, list):
        errors.append(FieldError(path, 'must be a list of ["HH:MM", "HH:MM"] pairs'))
        return ()
    if len(value) > MAX_INTERVALS_PER_DAY:
        errors.append(FieldError(path, f"at most {MAX_INTERVALS_PER_DAY} intervals a day"))
        return ()
    day: list[Interval] = []
    for index, item in enumerate(value):
        interval = _parse_interval(item)
        where = f"{path}[{index}]"
        if isinstance(interval, str):
            errors.append(FieldError(where, interval))
        elif day and interval[0] < day[-1][1]:
            errors.append(FieldError(where, "must start at or after the previous interval ends"))
        else:
            day.append(interval)
    return tuple(day)


def _parse_interval(item: Any) -> Interval | str:
    """The interval in local seconds, or why it is malformed."""
    if not isinstance(item, list | tuple) or len(item) != 2:
        return 'must be a pair ["HH:MM", "HH:MM"]'
    start, end = _clock_seconds(item[0]), _clock_seconds(item[1])
    if start is None or end is None:
        return 'times must be "HH:MM" between 00:00 and 24:00'
    if start >= end:
        return "must start before it ends"
    return (start, end)


def _clock_seconds(text: Any) -> int | None:
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    hours, minutes = int(match[1]), int(match[2])
    seconds = hours * 3600 + minutes * 60
    if minutes > 59 or seconds > DAY_SECONDS:
        return None
    return seconds


def _parse_holidays(value: Any, errors: list[FieldError]) -> GeneratedHolidays | frozenset[date]:
    if isinstance(value, list):
        return _parse_dates(value, "holidays", errors)
    if not isinstance(value, Mapping):
        errors.append(
            FieldError("holidays", 'must be a list of dates or {"country", "subdivision"}')
        )
        return frozenset()
    for key in value:
        if key not in ("country", "subdivision"):
            errors.append(FieldError(f"holidays.{key}", "unknown field"))
    # Alpha-2 codes only, so that one country has one spelling in stored documents.
    supported: dict[str, list[str]] = holidays_package.list_supported_countries(
        include_aliases=False
    )
    country, subdivision = value.get("country"), value.get("subdivision")
    if not isinstance(country, str) or country not in supported:
        message = f"unknown country {country!r} (an ISO 3166-1 alpha-2 code, such as GB)"
        errors.append(FieldError("holidays.country", message))
        return frozenset()
    if subdivision is not None and (
        not isinstance(subdivision, str) or subdivision not in supported[country]
    ):
        errors.append(
            FieldError("holidays.subdivision", f"unknown subdivision {subdivision!r} of {country}")
        )
    return GeneratedHolidays(country, subdivision)


def _parse_dates(value: Any, path: str, errors: list[FieldError]) -> frozenset[date]:
    if not isinstance(value, list):
        errors.append(FieldError(path, 'must be a list of "YYYY-MM-DD" dates'))
        return frozenset()
    if len(value) > MAX_DATES:
        errors.append(FieldError(path, f"at most {MAX_DATES} dates"))
        return frozenset()
    dates: set[date] = set()
    for index, item in enumerate(value):
        parsed = _iso_date(item)
        if parsed is None:
            errors.append(FieldError(f"{path}[{index}]", 'must be a date "YYYY-MM-DD"'))
        else:
            dates.add(parsed)
    return frozenset(dates)


def _iso_date(item: Any) -> date | None:
    # fromisoformat alone would also take "20261225" and week dates.
    if not isinstance(item, str) or _ISO_DATE.fullmatch(item) is None:
        return None
    try:
        return date.fromisoformat(item)
    except ValueError:
        return None


def _check_disjoint(raw: Any, both: frozenset[date], errors: list[FieldError]) -> None:
    """A date both opened and closed is a contradiction: name it where it is opened."""
    if not both or not isinstance(raw, list):
        return
    for index, item in enumerate(raw):
        if _iso_date(item) in both:
            errors.append(FieldError(f"extra_open[{index}]", "is also listed in extra_closed"))


def _parse_hours(value: Any, errors: list[FieldError]) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 < value <= 24:
        errors.append(FieldError("hours_per_working_day", "must be a number > 0 and <= 24"))
        return 8.0
    return float(value)


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _date_list(dates: Sequence[date] | frozenset[date]) -> list[str]:
    return [d.isoformat() for d in sorted(dates)]
