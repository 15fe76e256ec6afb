"""Uptime of a service per calendar month, and the credit tiers it fails.

All arithmetic is in integer microseconds since the epoch, so sums are exact:
- a month is a calendar month in the terms' time zone, measured in real
  seconds (a month with a DST change is an hour shorter or longer);
- downtime is the outages clipped to the month and to the evaluation instant
  (an open outage counts up to it);
- a tier fails at the instant its downtime first exceeds what the tier allows,
  (1 - below) x the month's length; that instant lies in the tier's tipping
  outage, and the claim window runs from that outage's end.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from domain.errors import ValidationFailed
from domain.outages import Outage, from_micros, micros
from domain.service_events import OutageStarted, ServiceEvent
from domain.uptime_terms import CreditTier

# An open outage's end: later than any instant a datetime can hold.
OPEN = 2**62
SECOND_US = 1_000_000
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class Month(NamedTuple):
    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def start(self, zone: ZoneInfo) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=zone).astimezone(UTC)

    def bounds_us(self, zone: ZoneInfo) -> tuple[int, int]:
        return micros(self.start(zone)), micros(self.next().start(zone))


def parse_month(text: object, field: str = "month") -> Month:
    match = _MONTH.match(text) if isinstance(text, str) else None
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1971:
        raise ValidationFailed.single(field, "must be a month YYYY-MM (1971 or later)")
    return Month(int(match[1]), int(match[2]))


def month_of(instant: datetime, zone: ZoneInfo) -> Month:
    local = instant.astimezone(zone)
    return Month(local.year, local.month)


def months_between(first: Month, last: Month) -> list[Month]:
    found, month = [], first
    while month <= last:
        found.append(month)
        month = month.next()
    return found


def add_local_days(instant: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The same local wall-clock time ``days`` calendar days later, in ``zone``.

    A local time that does not exist that day (in a DST gap) is read with the
    offset before the change, as zoneinfo reads it (fold=0).
    """
    local = instant.astimezone(zone).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=zone).astimezone(UTC)


class OutageTimeline:
    """A service's outages as sorted, disjoint integer intervals with running totals.

    ``totals[i]`` is the downtime of the first ``i`` outages, so a month's sum and
    each tier's tipping outage are found by bisection: a read of any range costs
    O(log n), however many outages the service has had.
    """

    def __init__(self, outages: Sequence[Outage] = ()) -> None:
        self.outages: list[Outage] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.totals: list[int] = [0]
        for outage in outages:
            self.append(outage)

    def append(self, outage: Outage) -> None:
        start = micros(outage.start)
        end = OPEN if outage.end is None else micros(outage.end)
        self.outages.append(outage)
        self.starts.append(start)
        self.ends.append(end)
        self.totals.append(self.totals[-1] + end - start)

    def close_last(self, outage: Outage) -> None:
        """Replace the open last outage by its ended self."""
        for values in (self.outages, self.starts, self.ends, self.totals):
            values.pop()
        self.append(outage)

    def span(self, low: int, high: int) -> Span | None:
        """The outages overlapping [low, high), with how much of them lies outside it."""
        first = bisect.bisect_right(self.ends, low)
        stop = bisect.bisect_left(self.starts, high)
        if first >= stop:
            return None
        front = max(0, low - self.starts[first])
        back = max(0, self.ends[stop - 1] - high)
        return Span(first, stop, front, back)

    def downtime(self, span: Span) -> int:
        return self.totals[span.stop] - self.totals[span.first] - span.front - span.back

    def tipping(self, span: Span, allowed: int) -> tuple[int, int] | None:
        """The outage and instant at which downtime in ``span`` first exceeds ``allowed`` µs."""
        if self.downtime(span) <= allowed:
            return None
        # The first outage whose running total (front clip removed) passes ``allowed``;
        # the back clip only shortens the last outage, which then must be the one.
        base = self.totals[span.first] + span.front
        index = min(bisect.bisect_right(self.totals, base + allowed) - 1, span.stop - 1)
        before = 0 if index == span.first else self.totals[index] - base
        start = self.starts[index] + (span.front if index == span.first else 0)
        return index, start + allowed - before


class Span(NamedTuple):
    first: int
    stop: int
    front: int
    back: int


@dataclass(frozen=True)
class TierFailure:
    tier: CreditTier
    tipping_at: datetime
    tipping_outage: Outage
    # The tipping outage's end as known at the evaluation instant; None while it lasts.
    outage_ended_at: datetime | None
    claim_deadline: datetime | None


@dataclass(frozen=True)
class MonthUptime:
    month: Month
    start: datetime
    end: datetime
    length_seconds: int
    downtime_us: int
    failures: tuple[TierFailure, ...]  # shallowest first

    @property
    def downtime_seconds(self) -> float:
        return self.downtime_us / SECOND_US

    @property
    def uptime(self) -> float:
        return 1 - self.downtime_us / (self.length_seconds * SECOND_US)

    @property
    def credit(self) -> TierFailure | None:
        """The deepest tier failed: only it earns credit."""
        return self.failures[-1] if self.failures else None


def evaluate_month(
    timeline: OutageTimeline,
    month: Month,
    *,
    zone: ZoneInfo,
    tiers: Sequence[CreditTier],
    claim_within_days: int,
    at: datetime,
) -> MonthUptime:
    """The month's downtime up to ``at`` and the tiers (shallowest first) it has failed."""
    low, high = month.bounds_us(zone)
    limit = min(high, micros(at))
    span = timeline.span(low, limit) if limit > low else None
    failures = []
    for tier in sorted(tiers, key=lambda t: -t.below):
        allowed = tier.allowed_fraction * (high - low)
        # Downtime is whole microseconds, so it exceeds the allowance exactly when it
        # exceeds the allowance's floor, and the tipping instant is a whole microsecond.
        tipped = None if span is None else timeline.tipping(span, math.floor(allowed))
        if tipped is None:
            break  # a deeper tier allows more, so it cannot have failed either
        index, tipping_us = tipped
        failures.append(
            _failure(timeline.outages[index], tipping_us, tier, (claim_within_days, zone), at)
        )
    return MonthUptime(
        month,
        from_micros(low),
        from_micros(high),
        (high - low) // SECOND_US,
        0 if span is None else timeline.downtime(span),
        tuple(failures),
    )


def _failure(
    outage: Outage, tipping_us: int, tier: CreditTier, window: tuple[int, ZoneInfo], at: datetime
) -> TierFailure:
    ended = outage.end if outage.end is not None and outage.end <= at else None
    deadline = None if ended is None else add_local_days(ended, *window)
    return TierFailure(tier, from_micros(tipping_us), outage, ended, deadline)


class LiveOutages:
    """A service's outages kept current as its events arrive, in any order.

    An event that sorts after every other (the usual case) costs one step of the
    replay; a late one replays the service's events again. The result is always
    ``outages_of(events)``.
    """

    def __init__(self) -> None:
        self.events: list[ServiceEvent] = []
        self.timeline = OutageTimeline()
        self._opened: ServiceEvent | None = None

    def add(self, event: ServiceEvent) -> None:
        in_order = not self.events or _order(event) > _order(self.events[-1])
        self.events.append(event)
        if in_order:
            self._step(event)
            return
        self.events.sort(key=_order)
        self.timeline, self._opened = OutageTimeline(), None
        for each in self.events:
            self._step(each)

    def _step(self, event: ServiceEvent) -> None:
        opened = self._opened
        if isinstance(event, OutageStarted):
            if opened is None:
                self._opened = event
                self.timeline.append(Outage(event.occurred_at, None, event.event_id, None))
        elif opened is not None:
            ended = Outage(opened.occurred_at, event.occurred_at, opened.event_id, event.event_id)
            self.timeline.close_last(ended)
            self._opened = None


def _order(event: ServiceEvent) -> tuple[datetime, int]:
    return (event.occurred_at, event.originator_version)
