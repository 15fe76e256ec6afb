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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
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
    """A service's outages as sorted, disjoint integer intervals, for fast month sums."""

    def __init__(self, outages: Sequence[Outage] = ()) -> None:
        self.outages: list[Outage] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        for outage in outages:
            self.append(outage)

    def append(self, outage: Outage) -> None:
        self.outages.append(outage)
        self.starts.append(micros(outage.start))
        self.ends.append(OPEN if outage.end is None else micros(outage.end))

    def close_last(self, outage: Outage) -> None:
        """Replace the open last outage by its ended self."""
        self.outages.pop()
        self.starts.pop()
        self.ends.pop()
        self.append(outage)

    def pieces(self, low: int, high: int) -> list[tuple[int, int, int]]:
        """(index, start, end) of each outage clipped to [low, high), in order."""
        found = []
        index = bisect.bisect_right(self.ends, low)
        while index < len(self.starts) and self.starts[index] < high:
            start, end = max(self.starts[index], low), min(self.ends[index], high)
            if start < end:
                found.append((index, start, end))
            index += 1
        return found


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
    pieces = timeline.pieces(low, limit) if limit > low else []
    failures = []
    for tier in sorted(tiers, key=lambda t: -t.below):
        tipped = _tipping(pieces, tier.allowed_fraction * (high - low))
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
        sum(end - start for _, start, end in pieces),
        tuple(failures),
    )


def _tipping(pieces: list[tuple[int, int, int]], allowed: Fraction) -> tuple[int, int] | None:
    """The outage and instant at which the running downtime first exceeds ``allowed``."""
    total = 0
    for index, start, end in pieces:
        if total + (end - start) > allowed:
            # Downtime exceeds the allowance for every instant after this one.
            return index, start + int(allowed - total)
        total += end - start
    return None


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
