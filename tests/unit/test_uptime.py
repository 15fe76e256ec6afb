"""Uptime per calendar month: the spec's March 2026 example, DST months, clipping, tiers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import ValidationFailed
from domain.outages import outages_of
from domain.service_events import ServiceEvent
from domain.uptime import (
    Month,
    MonthUptime,
    OutageTimeline,
    add_local_days,
    evaluate_month,
    months_between,
    parse_month,
)
from domain.uptime_terms import parse_uptime_terms
from tests.unit.uptime_support import LONDON_TERMS, LONDON_TERMS_DOC, march, outage_events, utc

LONDON = ZoneInfo("Europe/London")
EXAMPLE = outage_events(
    ("2026-03-07T14:00:00+00:00", "2026-03-07T14:50:00+00:00"),
    ("2026-03-20T10:00:00+00:00", "2026-03-20T10:10:00+00:00"),
)
END_OF_MARCH = utc("2026-04-01T00:00:00+01:00")


def test_the_spec_example_march_2026_in_london() -> None:
    result = march(EXAMPLE, END_OF_MARCH)
    assert result.length_seconds == 2_674_800  # clocks go forward on 29 March
    assert result.start == utc("2026-03-01T00:00:00Z")
    assert result.end == utc("2026-03-31T23:00:00Z")
    assert result.downtime_seconds == 3600
    assert result.uptime == pytest.approx(1 - 3600 / 2_674_800)
    assert round(result.uptime * 100, 3) == 99.865
    (failure,) = result.failures
    assert failure.tier.days == 7
    assert failure.tipping_at == utc("2026-03-07T14:44:34.800000Z")
    assert failure.tipping_outage.started_by == "start-1"
    assert failure.claim_deadline == utc("2026-04-06T13:50:00Z")  # 14:50 London, BST


def test_99_9_percent_allows_2678_4_seconds_in_a_31_day_month() -> None:
    # January has no DST change: 2,678,400 s; 99.9% allows 2,678.4 s.
    just_within = outage_events(("2026-01-10T00:00:00Z", "2026-01-10T00:44:38.400000Z"))
    just_over = outage_events(("2026-01-10T00:00:00Z", "2026-01-10T00:44:38.400001Z"))
    at = utc("2026-02-01T00:00:00Z")
    assert _month(just_within, Month(2026, 1), at).failures == ()
    (failure,) = _month(just_over, Month(2026, 1), at).failures
    assert failure.tipping_at == utc("2026-01-10T00:44:38.400000Z")


def test_30_day_month_allows_2592_seconds() -> None:
    events = outage_events(("2026-06-10T00:00:00Z", "2026-06-10T01:00:00Z"))
    (failure,) = _month(events, Month(2026, 6), utc("2026-07-01T00:00:00Z")).failures
    # June in London starts at 23:00Z on 31 May; 2,592 s into the outage.
    assert failure.tipping_at == utc("2026-06-10T00:43:12Z")


def test_october_is_an_hour_longer_in_london() -> None:
    result = _month([], Month(2026, 10), utc("2026-12-01T00:00:00Z"))
    assert result.length_seconds == 31 * 86400 + 3600
    assert result.uptime == 1


def test_downtime_is_clipped_to_the_month_and_an_open_outage_counts_to_the_instant() -> None:
    # Starts before March (London) and is still open on 2 March 01:00Z.
    events = outage_events(("2026-02-28T23:00:00Z", None))
    result = march(events, utc("2026-03-02T01:00:00Z"))
    assert result.downtime_seconds == 25 * 3600
    (*_, deepest) = result.failures
    assert deepest.tier.days == 14
    assert deepest.outage_ended_at is None
    assert deepest.claim_deadline is None  # the window opens when the outage ends


def test_an_outage_ending_after_the_evaluation_instant_is_open_at_it() -> None:
    events = outage_events(("2026-03-07T14:00:00Z", "2026-03-07T16:00:00Z"))
    result = march(events, utc("2026-03-07T15:00:00Z"))
    assert result.downtime_seconds == 3600
    assert result.failures[0].outage_ended_at is None


def test_deepest_tier_only_and_each_tier_has_its_own_tipping_outage() -> None:
    # 99% of March allows 26,748 s: the second, long outage passes it.
    events = outage_events(
        ("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
        ("2026-03-10T10:00:00Z", "2026-03-10T18:00:00Z"),
    )
    result = march(events, END_OF_MARCH)
    shallow, deep = result.failures
    assert (shallow.tier.days, deep.tier.days) == (7, 14)
    assert shallow.tipping_outage.started_by == "start-1"
    assert deep.tipping_outage.started_by == "start-3"
    assert deep.tipping_at == utc("2026-03-10T10:00:00Z") + timedelta(seconds=26_748 - 3600)
    assert result.credit is deep


def test_a_month_not_started_has_no_downtime() -> None:
    result = march(EXAMPLE, utc("2026-02-01T00:00:00Z"))
    assert result.downtime_seconds == 0
    assert result.failures == ()


def test_claim_deadline_is_the_same_local_time_n_calendar_days_later() -> None:
    # Across the October change: 14:50 BST + 30 days is 14:50 GMT.
    assert add_local_days(utc("2026-10-10T13:50:00Z"), 30, LONDON) == utc("2026-11-09T14:50:00Z")


@pytest.mark.parametrize("text", ["2026-13", "2026-3", "26-03", "", None, "1970-01"])
def test_bad_months_are_refused(text: object) -> None:
    with pytest.raises(ValidationFailed):
        parse_month(text)


def test_months_between_includes_both_ends_across_a_year() -> None:
    months = months_between(Month(2025, 11), Month(2026, 2))
    assert [m.label for m in months] == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_terms_document_round_trips() -> None:
    assert parse_uptime_terms(LONDON_TERMS_DOC) == LONDON_TERMS
    assert [t.below for t in LONDON_TERMS.credits] == [0.999, 0.99]


def _month(events: list[ServiceEvent], month: Month, at: datetime) -> MonthUptime:
    return evaluate_month(
        OutageTimeline(outages_of(events)),
        month,
        zone=LONDON,
        tiers=LONDON_TERMS.credits,
        claim_within_days=30,
        at=at,
    )
