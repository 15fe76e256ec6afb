"""Which local dates are working dates of a calendar, and with which hours.

Generated holidays come from the ``holidays`` package, resolved lazily for
each year a calendar is asked about and cached (the package computes moving
feasts and "observed" substitutes per year).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays as holidays_package

from domain.calendar import CalendarSpec, DayHours, GeneratedHolidays

_CLOSED: DayHours = ()


@lru_cache(maxsize=4096)
def generated_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of one year (observed substitutes included)."""
    found = holidays_package.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(d for d in found if d.year == year)


class WorkingDates:
    """Answers "which intervals are open on this local date" for one spec."""

    def __init__(self, spec: CalendarSpec) -> None:
        self._week = spec.week
        self._source = spec.holidays if isinstance(spec.holidays, GeneratedHolidays) else None
        self._listed = spec.holidays if isinstance(spec.holidays, frozenset) else frozenset()
        self._extra_closed = spec.extra_closed
        self._extra_open = spec.extra_open

    def is_holiday(self, day: date) -> bool:
        if day in self._listed:
            return True
        source = self._source
        if source is None:
            return False
        return day in generated_holidays(source.country, source.subdivision, day.year)

    def hours(self, day: date) -> DayHours:
        """The open intervals of a local date.

        ``extra_closed`` wins over everything (``parse_calendar`` rejects a date
        in both lists); an ``extra_open`` date opens with Monday's hours, even
        on a weekend or a holiday; a holiday is closed all day.
        """
        if day in self._extra_closed:
            return _CLOSED
        if day in self._extra_open:
            return self._week[0]
        if self.is_holiday(day):
            return _CLOSED
        return self._week[day.weekday()]
