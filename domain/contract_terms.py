"""A contract's terms: "12 months to the day" in the term's time zone, and renewal.

Term ``k`` (0 for the first) runs from local midnight of ``start + k·months`` to
local midnight of ``start + (k+1)·months``. Each boundary is counted from the
original ``start``, and a day the month lacks becomes its last day: a term from
29 February 2028 ends on 28 February 2029, and one from 31 January ends on
28/29 February and the next one on 31 March (not 28 March).
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import FieldError

MAX_MONTHS = 120
MAX_NOTICE_DAYS = 3660
_TERM_FIELDS = {"start", "months", "timezone", "auto_renew", "notice_days"}


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Term:
    start: date
    months: int
    timezone: str
    auto_renew: bool = False
    notice_days: int = 0

    def boundary(self, k: int) -> datetime:
        """The instant term ``k`` starts (and term ``k-1`` ends), in UTC."""
        return _boundary(self, k)

    def index_at(self, instant: datetime) -> int | None:
        """The term containing ``instant`` if renewal went on for ever; None before the first."""
        first = self.boundary(0)
        if instant < first:
            return None
        # No term is longer than 31 days a month (plus an hour of DST): an estimate
        # from below, then a step or two up over cached boundaries.
        longest = timedelta(days=31 * self.months, hours=1)
        k = (instant - first) // longest
        while self.boundary(k + 1) <= instant:
            k += 1
        return k

    def notice_deadline(self, k: int) -> datetime:
        """The last instant a cancellation stops renewal at the end of term ``k``."""
        end_day = add_months(self.start, (k + 1) * self.months)
        local = datetime.combine(end_day - timedelta(days=self.notice_days), time(0))
        return local.replace(tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)

    def document(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "months": self.months,
            "timezone": self.timezone,
            "auto_renew": self.auto_renew,
            "notice_days": self.notice_days,
        }


@functools.lru_cache(maxsize=65_536)
def _boundary(term: Term, k: int) -> datetime:
    # Replaying a contract asks for the same few boundaries once per work entry.
    day = add_months(term.start, k * term.months)
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(term.timezone))
    return local.astimezone(UTC)


def last_term(term: Term, cancellations: Sequence[datetime]) -> int | None:
    """The index of the contract's last term; None while it renews for ever.

    Without auto-renewal that is the first term. With it, the earliest
    cancellation decides: given by its term's notice deadline, renewal stops at
    that term's end; given later, the contract renews once more.
    """
    if not term.auto_renew:
        return 0
    if not cancellations:
        return None
    given = min(cancellations)
    k = term.index_at(given) or 0
    return k if given <= term.notice_deadline(k) else k + 1


def contract_end(
    term: Term, cancellations: Sequence[datetime], ended: Sequence[datetime]
) -> datetime | None:
    """When the contract ends: its last term's end, or an earlier ``contract_ended``."""
    last = last_term(term, cancellations)
    natural = None if last is None else term.boundary(last + 1)
    early = min(ended) if ended else None
    if natural is None:
        return early
    return natural if early is None else min(natural, early)


def parse_term(value: Any, path: str, errors: list[FieldError]) -> Term | None:
    if not isinstance(value, Mapping):
        errors.append(FieldError(path, "required: an object with start, months and timezone"))
        return None
    before = len(errors)
    errors.extend(
        FieldError(f"{path}.{k}", "unknown field") for k in value if k not in _TERM_FIELDS
    )
    start = _date(value.get("start"), f"{path}.start", errors)
    months = _whole(value.get("months"), 1, MAX_MONTHS, f"{path}.months", errors)
    zone = _zone(value.get("timezone"), f"{path}.timezone", errors)
    auto_renew = value.get("auto_renew", False)
    if not isinstance(auto_renew, bool):
        errors.append(FieldError(f"{path}.auto_renew", "must be true or false"))
    notice = _whole(value.get("notice_days", 0), 0, MAX_NOTICE_DAYS, f"{path}.notice_days", errors)
    if len(errors) > before or start is None or zone is None:
        return None
    return Term(start, months, zone, bool(auto_renew), notice)


def _date(value: Any, path: str, errors: list[FieldError]) -> date | None:
    try:
        if isinstance(value, str) and len(value) == 10:
            day = date.fromisoformat(value)
            if 1900 <= day.year <= 9000:
                return day
    except ValueError:
        pass
    errors.append(FieldError(path, "required: a date YYYY-MM-DD"))
    return None


def _whole(value: Any, low: int, high: int, path: str, errors: list[FieldError]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(FieldError(path, f"required: a whole number {low}..{high}"))
        return low
    return value


def _zone(value: Any, path: str, errors: list[FieldError]) -> str | None:
    try:
        if isinstance(value, str) and value and "\0" not in value:
            ZoneInfo(value)
            return value
    except (ZoneInfoNotFoundError, ValueError):
        pass
    errors.append(FieldError(path, "required: an IANA time zone such as Europe/London"))
    return None
