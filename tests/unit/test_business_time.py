"""Business-time maths on worked cases: DST, holidays, breaks, closing times, versions."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.business_time import (
    BusinessCalendar,
    CalendarTimeline,
    compiled_calendar,
    from_us,
    to_us,
)
from domain.calendar import ALWAYS_OPEN, CalendarSpec, parse_calendar
from domain.versions import Version

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
DUBLIN = ZoneInfo("Europe/Dublin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def calendar(timezone: str, day: list[list[str]], **extra: Any) -> BusinessCalendar:
    """A Mon-Fri calendar with the same hours every weekday."""
    week = dict.fromkeys(WEEKDAYS, day) | extra.pop("week", {})
    return BusinessCalendar(parse_calendar({"timezone": timezone, "week": week, **extra}))


def uk_office(**extra: Any) -> BusinessCalendar:
    holidays = {"country": "GB", "subdivision": "ENG"}
    return calendar("Europe/London", [["09:00", "17:00"]], holidays=holidays, **extra)


def sydney_office() -> BusinessCalendar:
    """ex-sydney from the worked examples: a lunch break, Easter 2026 listed."""
    return calendar(
        "Australia/Sydney",
        [["08:30", "12:00"], ["13:00", "17:00"]],
        holidays=["2026-04-03", "2026-04-06"],
        hours_per_working_day=7.5,
    )


def every_sunday(timezone: str, interval: list[str]) -> BusinessCalendar:
    return BusinessCalendar(parse_calendar({"timezone": timezone, "week": {"sun": [interval]}}))


def local(zone: ZoneInfo, *fields: int, fold: int = 0) -> datetime:
    return datetime(*fields, tzinfo=zone, fold=fold)  # type: ignore[misc]


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


# --- the due instant ------------------------------------------------------------


def test_a_target_used_up_at_the_close_is_due_at_the_close() -> None:
    friday_1pm = local(LONDON, 2026, 2, 6, 13)
    assert uk_office().add_business_time(friday_1pm, 4 * H) == local(LONDON, 2026, 2, 6, 17)


def test_one_microsecond_more_is_due_just_after_the_next_opening() -> None:
    friday_1pm = local(LONDON, 2026, 2, 6, 13)
    due = uk_office().add_business_time(friday_1pm, 4 * H + timedelta(microseconds=1))
    assert due == local(LONDON, 2026, 2, 9, 9, 0, 0, 1)


def test_an_out_of_hours_start_accrues_nothing_until_the_next_opening() -> None:
    office = uk_office()
    early = local(LONDON, 2026, 2, 9, 7)
    assert office.business_time(early, local(LONDON, 2026, 2, 9, 9)) == timedelta(0)
    assert office.add_business_time(early, H) == local(LONDON, 2026, 2, 9, 10)
    late = local(LONDON, 2026, 2, 9, 18)
    assert office.add_business_time(late, H) == local(LONDON, 2026, 2, 10, 10)


def test_a_weekend_start_waits_for_monday() -> None:
    saturday_noon = local(LONDON, 2026, 2, 7, 12)
    assert uk_office().add_business_time(saturday_noon, 2 * H) == local(LONDON, 2026, 2, 9, 11)


def test_amount_zero_is_due_at_the_start_even_out_of_hours() -> None:
    sunday = local(LONDON, 2026, 2, 8, 3, 0, 0, 7)
    assert uk_office().add_business_time(sunday, timedelta(0)) == sunday


def test_a_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        uk_office().add_business_time(utc(2026, 2, 9, 10), -MIN)


def test_an_empty_or_reversed_span_has_no_business_time() -> None:
    office = uk_office()
    monday = utc(2026, 2, 9, 10)
    assert office.business_time(monday, monday) == timedelta(0)
    assert office.business_time(monday + H, monday) == timedelta(0)


def test_results_are_utc_and_exact_to_the_microsecond() -> None:
    start = local(LONDON, 2026, 7, 1, 9, 0, 0, 123_456)
    amount = timedelta(hours=3, seconds=7, microseconds=654_321)
    due = uk_office().add_business_time(start, amount)
    assert due.tzinfo is UTC
    assert due == utc(2026, 7, 1, 11, 0, 7, 777_777)
    assert uk_office().business_time(start, due) == amount


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(TypeError):
        uk_office().business_time(datetime(2026, 2, 9, 9), utc(2026, 2, 9, 10))


# --- breaks, holidays, extra dates, 24:00 ------------------------------------------


def test_a_lunch_break_accrues_nothing() -> None:
    sydney = sydney_office()
    eleven = local(SYDNEY, 2026, 3, 3, 11)
    assert sydney.add_business_time(eleven, 4 * H) == local(SYDNEY, 2026, 3, 3, 16)
    assert sydney.business_time(eleven, local(SYDNEY, 2026, 3, 3, 14)) == 2 * H


def test_sydney_easter_and_the_end_of_dst() -> None:
    thursday_4pm = local(SYDNEY, 2026, 4, 2, 16)  # AEDT, +11:00
    due = sydney_office().add_business_time(thursday_4pm, 7.5 * H)
    assert due == local(SYDNEY, 2026, 4, 7, 16)  # AEST, +10:00
    assert due == utc(2026, 4, 7, 6)


def test_dublin_closes_on_st_patricks_day() -> None:
    dublin = calendar("Europe/Dublin", [["09:00", "17:30"]], holidays=["2026-03-17"])
    opened = utc(2026, 3, 16, 16, 30)
    assert dublin.business_time(opened, utc(2026, 3, 16, 17)) == 30 * MIN
    assert dublin.add_business_time(opened, 2 * H) == utc(2026, 3, 18, 10)


def test_england_and_wales_christmas_2026_with_the_observed_boxing_day() -> None:
    office = uk_office()
    christmas_eve_4pm = local(LONDON, 2026, 12, 24, 16)
    assert office.add_business_time(christmas_eve_4pm, 2 * H) == local(LONDON, 2026, 12, 29, 10)
    assert office.business_time(local(LONDON, 2026, 12, 25), local(LONDON, 2026, 12, 29)) == (
        timedelta(0)
    )


def test_extra_open_on_a_saturday_uses_monday_hours() -> None:
    cal = calendar(
        "Europe/London",
        [["09:00", "17:00"]],
        week={"mon": [["08:00", "12:00"]]},
        extra_open=["2026-02-07"],
    )
    saturday = local(LONDON, 2026, 2, 7, 0)
    assert list(cal.stretches(saturday, saturday + 24 * H)) == [
        (utc(2026, 2, 7, 0), utc(2026, 2, 7, 8), False),
        (utc(2026, 2, 7, 8), utc(2026, 2, 7, 12), True),
        (utc(2026, 2, 7, 12), utc(2026, 2, 8, 0), False),
    ]
    next_saturday = saturday + timedelta(days=7)
    assert cal.business_time(next_saturday, next_saturday + 24 * H) == timedelta(0)


def test_extra_open_opens_a_holiday_with_monday_hours() -> None:
    office = uk_office(extra_open=["2026-12-25"])
    christmas = local(LONDON, 2026, 12, 25)
    assert office.business_time(christmas, christmas + 24 * H) == 8 * H
    boxing_day_observed = local(LONDON, 2026, 12, 28)
    assert office.business_time(boxing_day_observed, boxing_day_observed + 24 * H) == (timedelta(0))


def test_extra_closed_closes_a_working_day() -> None:
    office = uk_office(extra_closed=["2026-12-24"])
    christmas_eve = local(LONDON, 2026, 12, 24)
    assert office.business_time(christmas_eve, christmas_eve + 24 * H) == timedelta(0)
    assert office.add_business_time(local(LONDON, 2026, 12, 23, 16), 2 * H) == (
        local(LONDON, 2026, 12, 29, 10)
    )


def test_24_00_closes_the_day_and_joins_the_next_morning() -> None:
    night = calendar(
        "Europe/London",
        [],
        week={"mon": [["18:00", "24:00"]], "tue": [["00:00", "06:00"]]},
    )
    monday_11pm = local(LONDON, 2026, 2, 9, 23)
    assert night.add_business_time(monday_11pm, 2 * H) == local(LONDON, 2026, 2, 10, 1)
    assert list(night.stretches(monday_11pm, monday_11pm + 2 * H)) == [
        (utc(2026, 2, 9, 23), utc(2026, 2, 10, 1), True)
    ]
    assert night.business_time(local(LONDON, 2026, 2, 9), local(LONDON, 2026, 2, 11)) == 12 * H


# --- DST: a gap shortens an interval, an overlap lengthens it ----------------------


@pytest.mark.parametrize(
    ("zone", "sunday", "interval", "length"),
    [
        ("Europe/London", (2026, 3, 29), ["00:30", "03:30"], 2 * H),  # 01:00 GMT -> 02:00 BST
        ("Europe/London", (2026, 10, 25), ["00:30", "03:30"], 4 * H),  # 02:00 BST -> 01:00 GMT
        ("America/New_York", (2026, 3, 8), ["01:00", "04:00"], 2 * H),
        ("America/New_York", (2026, 11, 1), ["01:00", "04:00"], 4 * H),
        ("Australia/Sydney", (2026, 10, 4), ["01:00", "04:00"], 2 * H),  # AEST -> AEDT
        ("Australia/Sydney", (2026, 4, 5), ["01:00", "04:00"], 4 * H),  # AEDT -> AEST
        ("Europe/London", (2026, 3, 29), ["00:00", "24:00"], 23 * H),
        ("Australia/Sydney", (2026, 4, 5), ["00:00", "24:00"], 25 * H),
    ],
)
def test_an_interval_spanning_the_dst_hour(
    zone: str, sunday: tuple[int, int, int], interval: list[str], length: timedelta
) -> None:
    cal = every_sunday(zone, interval)
    day_start = local(ZoneInfo(zone), *sunday).astimezone(UTC)  # + hours is then real time
    assert cal.business_time(day_start, day_start + 26 * H) == length


def test_adding_across_the_spring_gap_skips_the_missing_hour() -> None:
    cal = every_sunday("Australia/Sydney", ["01:00", "04:00"])
    start = local(SYDNEY, 2026, 10, 4, 1, 30)  # AEST; 02:00 becomes 03:00 AEDT
    assert cal.add_business_time(start, H) == local(SYDNEY, 2026, 10, 4, 3, 30)
    assert cal.add_business_time(start, H) == utc(2026, 10, 3, 16, 30)


def test_adding_across_the_autumn_overlap_counts_the_repeated_hour() -> None:
    cal = every_sunday("America/New_York", ["01:00", "04:00"])
    start = local(NEW_YORK, 2026, 11, 1, 1, 30)  # the first 01:30, EDT
    # Aware datetimes in a fold never compare equal across zones: compare in UTC.
    repeated = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1).astimezone(UTC)  # the second, EST
    assert cal.add_business_time(start, H) == repeated == utc(2026, 11, 1, 6, 30)
    assert cal.add_business_time(start, 3 * H) == local(NEW_YORK, 2026, 11, 1, 3, 30)


def test_office_hours_keep_their_wall_clock_across_dst() -> None:
    office = uk_office()
    friday_4pm = local(LONDON, 2026, 3, 27, 16)  # GMT
    due = office.add_business_time(friday_4pm, 2 * H)
    assert due == local(LONDON, 2026, 3, 30, 10)  # BST
    assert due == utc(2026, 3, 30, 9)
    ny = calendar("America/New_York", [["09:00", "17:00"]])
    assert ny.add_business_time(local(NEW_YORK, 2026, 10, 30, 16), 2 * H) == utc(2026, 11, 2, 15)


# --- stretches ------------------------------------------------------------------


def test_stretches_cover_the_span_and_sum_to_the_business_time() -> None:
    sydney = sydney_office()
    start, end = local(SYDNEY, 2026, 4, 1, 10, 15), local(SYDNEY, 2026, 4, 8, 12, 30)
    pieces = list(sydney.stretches(start, end))
    assert pieces[0][0] == start
    assert pieces[-1][1] == end
    for (_, end_a, open_a), (start_b, _, open_b) in pairwise(pieces):
        assert end_a == start_b
        assert open_a != open_b
    assert sum((b - a for a, b, is_open in pieces if is_open), timedelta(0)) == (
        sydney.business_time(start, end)
    )
    assert all(a.tzinfo is UTC and b.tzinfo is UTC for a, b, _ in pieces)


def test_no_stretches_for_an_empty_span() -> None:
    start = utc(2026, 2, 9, 10)
    assert list(uk_office().stretches(start, start)) == []


# --- long spans, fast paths, caching ----------------------------------------------------


def test_years_long_spans_add_up_year_by_year() -> None:
    office = uk_office()
    years = [local(LONDON, y, 1, 1) for y in range(2024, 2029)]
    by_year = [office.business_time(a, b) for a, b in pairwise(years)]
    # 2026 in England: 261 weekdays, 8 bank holidays on weekdays.
    assert by_year[2] == (261 - 8) * 8 * H
    assert office.business_time(years[0], years[-1]) == sum(by_year, timedelta(0))
    assert office.add_business_time(years[0], sum(by_year, timedelta(0))) == (
        local(LONDON, 2027, 12, 31, 17)
    )


def test_the_epoch_paths_match_the_datetime_paths() -> None:
    office = uk_office()
    start = local(LONDON, 2026, 12, 23, 15, 7, 5, 3)
    amount = timedelta(hours=11, microseconds=9)
    due = office.add_business_time(start, amount)
    assert office.add_us(to_us(start), amount // timedelta(microseconds=1)) == to_us(due)
    assert office.business_us(to_us(start), to_us(due)) == amount // timedelta(microseconds=1)
    assert from_us(to_us(start)) == start


def test_a_calendar_that_is_never_open_cannot_reach_a_target() -> None:
    never = BusinessCalendar(CalendarSpec("UTC", ((),) * 7))
    assert never.business_time(utc(2026, 1, 1), utc(2027, 1, 1)) == timedelta(0)
    assert never.add_business_time(utc(2026, 1, 1), MIN) is None


# --- the horizon: nothing is due at or after 2200-01-01T00:00:00Z ---------------------


def one_minute_a_week() -> BusinessCalendar:
    return BusinessCalendar(
        parse_calendar({"timezone": "UTC", "week": {"mon": [["09:00", "09:01"]]}})
    )


def test_a_target_a_sparse_calendar_meets_after_the_horizon_is_never_due() -> None:
    sparse = one_minute_a_week()
    # 8,760 hours at one minute a week is about 10,000 years.
    assert sparse.add_business_time(utc(2026, 3, 2), 8760 * H) is None
    # Settled by the capacity bound: no year of the calendar is compiled to find out.
    assert sparse.compiled_chunks == 1


def test_due_instants_stop_just_before_the_horizon() -> None:
    always = BusinessCalendar(ALWAYS_OPEN)
    last_hour = utc(2199, 12, 31, 23)
    assert always.add_business_time(last_hour, 59 * MIN) == utc(2199, 12, 31, 23, 59)
    assert always.add_business_time(last_hour, H) is None  # due at 2200-01-01T00:00:00Z
    assert always.add_business_time(utc(2026, 1, 1), timedelta(days=70_000)) is None


def test_a_target_met_a_century_later_is_still_found() -> None:
    hour_a_week = BusinessCalendar(
        parse_calendar({"timezone": "Europe/London", "week": {"wed": [["10:00", "11:00"]]}})
    )
    start = utc(2026, 3, 2)
    due = hour_a_week.add_business_time(start, 5000 * H)  # 5,000 Wednesdays: in 2121
    assert due is not None
    assert due.year == 2121
    assert hour_a_week.business_time(start, due) == 5000 * H


def test_equal_specs_share_one_compiled_calendar() -> None:
    first = compiled_calendar(uk_office().spec)
    assert compiled_calendar(parse_calendar(copy.deepcopy(_uk_doc()))) is first


def _uk_doc() -> dict[str, Any]:
    return {
        "timezone": "Europe/London",
        "week": {name: [["09:00", "17:00"]] for name in WEEKDAYS},
        "holidays": {"country": "GB", "subdivision": "ENG"},
    }


# --- 24x7 ---------------------------------------------------------------------------


def test_24x7_counts_wall_clock_time() -> None:
    always = CalendarTimeline.always_open()
    assert always.calendar_id == "24x7"
    saturday_10pm = utc(2026, 3, 14, 22)
    assert always.add_business_time(saturday_10pm, 30 * MIN) == utc(2026, 3, 14, 22, 30)
    assert always.add_business_time(saturday_10pm, 48 * H) == utc(2026, 3, 16, 22)
    spring_forward = local(LONDON, 2026, 3, 29).astimezone(UTC)
    assert always.business_time(spring_forward, spring_forward + 24 * H) == 24 * H
    assert always.hours_per_working_day_at(saturday_10pm) == 24
    assert list(always.stretches(saturday_10pm, saturday_10pm + 72 * H)) == [
        (saturday_10pm, saturday_10pm + 72 * H, True)
    ]


def test_24x7_spans_many_chunks_without_seams() -> None:
    always = BusinessCalendar(ALWAYS_OPEN)
    start, end = utc(2020, 5, 5, 5, 5), utc(2031, 1, 1)
    assert always.business_time(start, end) == end - start
    assert always.add_business_time(start, end - start) == end
    assert list(always.stretches(start, end)) == [(start, end, True)]


# --- versions, instant by instant ---------------------------------------------------


def version(
    number: int, effective_from: datetime | None, spec: CalendarSpec
) -> Version[CalendarSpec]:
    return Version(number, effective_from, utc(2026, 1, 1), spec)


def test_a_holiday_declared_later_reaches_a_running_clock() -> None:
    before = uk_office().spec
    after = uk_office(extra_closed=["2026-06-05"]).spec
    timeline = CalendarTimeline(
        "uk-office", [version(1, None, before), version(2, utc(2026, 6, 1), after)]
    )
    thursday_4pm = local(LONDON, 2026, 6, 4, 16)
    assert timeline.add_business_time(thursday_4pm, 2 * H) == local(LONDON, 2026, 6, 8, 10)


def test_time_counts_on_the_version_in_effect_at_each_instant() -> None:
    nine_to_five = calendar("UTC", [["09:00", "17:00"]]).spec
    eight_to_six = calendar("UTC", [["08:00", "18:00"]], hours_per_working_day=10).spec
    switch = utc(2026, 2, 10, 12)  # Tuesday noon
    timeline = CalendarTimeline(
        "office", [version(2, switch, eight_to_six), version(1, None, nine_to_five)]
    )
    monday = utc(2026, 2, 9)
    # Monday 8h + Tuesday 09:00-12:00 (3h) on v1 + 12:00-18:00 (6h) on v2 + Wednesday 10h.
    assert timeline.business_time(monday, monday + 72 * H) == 27 * H
    assert timeline.add_business_time(utc(2026, 2, 10, 9), 10 * H) == utc(2026, 2, 11, 9)
    assert timeline.hours_per_working_day_at(switch - MIN) == 8
    assert timeline.hours_per_working_day_at(switch) == 10
    assert list(timeline.stretches(utc(2026, 2, 10, 8), utc(2026, 2, 10, 19))) == [
        (utc(2026, 2, 10, 8), utc(2026, 2, 10, 9), False),
        (utc(2026, 2, 10, 9), utc(2026, 2, 10, 18), True),
        (utc(2026, 2, 10, 18), utc(2026, 2, 10, 19), False),
    ]


def test_before_the_earliest_version_the_earliest_applies() -> None:
    first = calendar("UTC", [["09:00", "17:00"]]).spec
    second = BusinessCalendar(ALWAYS_OPEN).spec
    timeline = CalendarTimeline(
        "office", [version(1, utc(2026, 3, 1), first), version(2, utc(2026, 4, 1), second)]
    )
    saturday = utc(2026, 2, 7)
    assert timeline.business_time(saturday, saturday + 48 * H) == timedelta(0)
    assert timeline.hours_per_working_day_at(saturday) == 8


def test_versions_starting_together_the_higher_number_wins() -> None:
    nine_to_five = calendar("UTC", [["09:00", "17:00"]]).spec
    timeline = CalendarTimeline(
        "office",
        [
            version(1, None, nine_to_five),
            version(3, utc(2026, 3, 1), ALWAYS_OPEN),
            version(2, utc(2026, 3, 1), nine_to_five),
        ],
    )
    saturday = utc(2026, 3, 7)
    assert timeline.business_time(saturday, saturday + 24 * H) == 24 * H


def test_a_timeline_needs_a_version() -> None:
    with pytest.raises(ValueError, match="no version"):
        CalendarTimeline("empty", [])


def test_a_version_starting_after_the_horizon_is_never_compiled() -> None:
    # Only a log written before the range was enforced holds such a version.
    sparse = parse_calendar({"timezone": "Asia/Tokyo", "week": {"tue": [["09:00", "09:01"]]}})
    versions = [
        Version(1, None, utc(2026, 1, 1), sparse),
        Version(2, utc(9999, 1, 1), utc(2026, 1, 2), ALWAYS_OPEN),
    ]
    timeline = CalendarTimeline("odd", versions)
    assert timeline.add_business_time(utc(2026, 3, 2), 8760 * H) is None
    assert timeline.add_business_time(utc(2026, 3, 3), MIN) == utc(2026, 3, 3, 0, 1)
    assert compiled_calendar(sparse).compiled_chunks == 1  # not the 7,000 up to 9999
