"""Downtime, uptime and tipping instants against a slow, obviously-right reference.

The reference knows nothing of outages: a minute is down when the last event at
or before it (in occurred_at order, ties in recorded order) is a start, and the
month's minutes are walked one by one. Events fall on whole minutes, so the
walk is exact.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from random import Random
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.outages import micros, outages_of
from domain.service_events import ServiceEvent
from domain.uptime import LiveOutages, Month, MonthUptime, OutageTimeline, evaluate_month
from tests.unit.uptime_support import LONDON_TERMS, service_event

ORIGIN = datetime(2026, 1, 25, tzinfo=UTC)
SPAN_MINUTES = 120 * 1440
MINUTE_US = 60_000_000
ZONES = st.sampled_from(["Europe/London", "UTC", "America/New_York", "Australia/Sydney"])
MONTHS = st.sampled_from([Month(2026, 2), Month(2026, 3), Month(2026, 4)])
# Clustered outages, so that tiers fail often; some events repeat or arrive out of order.
EVENTS = st.lists(st.tuples(st.integers(0, SPAN_MINUTES), st.booleans()), max_size=40)


def at_minute(minute: int) -> datetime:
    return ORIGIN + timedelta(minutes=minute)


def build(raw: list[tuple[int, bool]]) -> list[ServiceEvent]:
    return [
        service_event("start" if starts else "end", at_minute(minute), version)
        for version, (minute, starts) in enumerate(raw, start=1)
    ]


def reference(raw: list[tuple[int, bool]], low: int, high: int, at: int) -> list[int]:
    """The down minutes (as offsets from ORIGIN) of [low, min(high, at))."""
    ordered = sorted((minute, version, starts) for version, (minute, starts) in enumerate(raw))
    keys = [(m, v) for m, v, _ in ordered]
    down = []
    for minute in range(low, min(high, at)):
        index = bisect.bisect_right(keys, (minute, len(raw) + 1))
        if index and ordered[index - 1][2]:
            down.append(minute)
    return down


def evaluate(raw: list[tuple[int, bool]], month: Month, zone: str, at: int) -> MonthUptime:
    return evaluate_month(
        OutageTimeline(outages_of(build(raw))),
        month,
        zone=ZoneInfo(zone),
        tiers=LONDON_TERMS.credits,
        claim_within_days=30,
        at=at_minute(at),
    )


@settings(max_examples=100, deadline=None)
@given(EVENTS, MONTHS, ZONES, st.integers(0, SPAN_MINUTES))
def test_downtime_and_tipping_instants_match_the_minute_walk(
    raw: list[tuple[int, bool]], month: Month, zone: str, at: int
) -> None:
    low_us, high_us = month.bounds_us(ZoneInfo(zone))
    origin_us = micros(ORIGIN)
    low, high = (low_us - origin_us) // MINUTE_US, (high_us - origin_us) // MINUTE_US
    down = reference(raw, low, high, at)
    result = evaluate(raw, month, zone, at)
    assert result.downtime_us == len(down) * MINUTE_US
    assert result.length_seconds * 1_000_000 == high_us - low_us
    assert result.uptime == 1 - len(down) * MINUTE_US / (high_us - low_us)
    expected = []
    for tier in LONDON_TERMS.credits:
        allowed = tier.allowed_fraction * (high_us - low_us)
        for count, minute in enumerate(down):
            if (count + 1) * MINUTE_US > allowed:
                offset = minute * MINUTE_US + int(allowed - count * MINUTE_US)
                expected.append(ORIGIN + timedelta(microseconds=offset))
                break
    assert [f.tipping_at for f in result.failures] == expected


@settings(max_examples=60, deadline=None)
@given(EVENTS)
def test_outages_are_sorted_disjoint_and_cover_exactly_the_down_minutes(
    raw: list[tuple[int, bool]],
) -> None:
    outages = outages_of(build(raw))
    covered = set()
    for outage in outages:
        start = (outage.start - ORIGIN) // timedelta(minutes=1)
        end = (
            SPAN_MINUTES + 1
            if outage.end is None
            else (outage.end - ORIGIN) // timedelta(minutes=1)
        )
        assert start < end or outage.end is not None
        covered.update(range(start, end))
    assert all(o.end is not None for o in outages[:-1])
    assert all(a.end is not None and a.end <= b.start for a, b in pairwise(outages))
    assert sorted(covered) == reference(raw, 0, SPAN_MINUTES + 1, SPAN_MINUTES + 1)


@settings(max_examples=100, deadline=None)
@given(EVENTS, st.randoms(use_true_random=False))
def test_live_outages_in_any_arrival_order_equal_the_replay(
    raw: list[tuple[int, bool]], random: Random
) -> None:
    events = build(raw)
    arrival = list(events)
    random.shuffle(arrival)
    live = LiveOutages()
    for event in arrival:
        live.add(event)
    expected = outages_of(events)
    assert live.timeline.outages == expected
    assert live.timeline.starts == OutageTimeline(expected).starts
    assert live.timeline.ends == OutageTimeline(expected).ends
