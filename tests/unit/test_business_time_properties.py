"""Property tests: the compiled business-time maths against a minute-stepping reference.

Random calendars (several intervals a day, lunch breaks, closed days, 24:00
closings), zones of both hemispheres with and without DST, explicit and
generated holidays, extra_closed / extra_open dates, starts inside and outside
hours and close to DST changes. Instants handed to the reference are whole
minutes so that it stays exact; the algebraic properties use microseconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.business_time import BusinessCalendar, CalendarTimeline, to_us
from domain.calendar import CalendarSpec, DayHours, GeneratedHolidays
from domain.versions import Version
from tests.unit import calendar_reference as ref

ZONES = (
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",  # DST until 2019, southern hemisphere
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/St_Johns",  # -03:30
    "Asia/Dubai",
    "Asia/Kolkata",
    "UTC",
)
GENERATED = (
    GeneratedHolidays("GB", "ENG"),
    GeneratedHolidays("US", None),
    GeneratedHolidays("AU", "NSW"),
    GeneratedHolidays("NZ", None),
)
FIRST = datetime(2017, 1, 1, tzinfo=UTC)
LAST = datetime(2028, 12, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
MICRO = timedelta(microseconds=1)
DAY_MINUTES = 1440

MODERATE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """Every UTC-offset change of a zone between FIRST and LAST, to the minute."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    at = FIRST
    while at < LAST:
        step = at + timedelta(hours=6)
        if at.astimezone(zone).utcoffset() != step.astimezone(zone).utcoffset():
            low, high = at, step
            while high - low > MINUTE:
                middle = low + (high - low) // 2 // MINUTE * MINUTE
                same = middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            found.append(high)
        at = step
    return tuple(found)


# --- strategies -----------------------------------------------------------------

boundaries = st.one_of(
    st.integers(0, DAY_MINUTES),
    st.sampled_from([0, 60, 90, 120, 150, 180, 510, 540, 720, 780, 1020, 1050, 1440]),
)


@st.composite
def day_hours(draw: st.DrawFn) -> DayHours:
    count = draw(st.integers(0, 3))
    cuts = sorted(draw(st.sets(boundaries, min_size=2 * count, max_size=2 * count)))
    return tuple((cuts[i] * 60, cuts[i + 1] * 60) for i in range(0, 2 * count, 2))


@st.composite
def minute_instants(draw: st.DrawFn, zone: str) -> datetime:
    """Whole minutes, often within days of a DST change of the zone."""
    near = transitions(zone)
    if near and draw(st.booleans()):
        base = draw(st.sampled_from(near))
        return base + MINUTE * draw(st.integers(-4 * DAY_MINUTES, DAY_MINUTES))
    total = int((LAST - FIRST) / MINUTE)
    return FIRST + MINUTE * draw(st.integers(0, total))


def dates_near(anchor: date, most: int) -> st.SearchStrategy[frozenset[date]]:
    days = st.integers(-3, 25).map(lambda n: anchor + timedelta(days=n))
    return st.frozensets(days, max_size=most)


@st.composite
def specs(draw: st.DrawFn, zone: str, anchor: date) -> CalendarSpec:
    week = list(draw(st.lists(day_hours(), min_size=7, max_size=7)))
    if not any(week):
        week[draw(st.integers(0, 6))] = ((9 * 3600, 17 * 3600),)
    holidays: GeneratedHolidays | frozenset[date] = draw(
        st.one_of(st.sampled_from(GENERATED), dates_near(anchor, 6))
    )
    extra_closed = draw(dates_near(anchor, 3))
    extra_open = draw(dates_near(anchor, 3)) - extra_closed
    hours = draw(st.sampled_from([7.5, 8.0, 24.0]))
    return CalendarSpec(zone, tuple(week), holidays, extra_closed, extra_open, hours)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[CalendarSpec, datetime]:
    zone = draw(st.sampled_from(ZONES))
    start = draw(minute_instants(zone))
    return draw(specs(zone, start.date())), start


def weekly_minutes(spec: CalendarSpec) -> int:
    return sum(end - start for day in spec.week for start, end in day) // 60


def affordable_amount(spec: CalendarSpec, weeks: float) -> st.SearchStrategy[timedelta]:
    """Whole-minute amounts the reference can reach by stepping a few weeks."""
    most = max(1, int(weekly_minutes(spec) * weeks))
    return st.integers(1, most).map(lambda n: n * MINUTE)


def micro_instants() -> st.SearchStrategy[datetime]:
    total = (LAST - FIRST) // MICRO
    return st.integers(0, total).map(lambda n: FIRST + n * MICRO)


# --- against the reference ------------------------------------------------------------


@MODERATE
@given(scenarios(), st.integers(0, 4 * DAY_MINUTES))
def test_business_time_equals_the_reference(
    scenario: tuple[CalendarSpec, datetime], span_minutes: int
) -> None:
    spec, start = scenario
    end = start + span_minutes * MINUTE
    expected = ref.business_time(ref.single(spec), start, end)
    assert BusinessCalendar(spec).business_time(start, end) == expected


@MODERATE
@given(st.data())
def test_add_is_the_earliest_instant_the_reference_reaches(data: st.DataObject) -> None:
    spec, start = data.draw(scenarios())
    amount = data.draw(affordable_amount(spec, 0.5))
    cal = BusinessCalendar(spec)
    due = cal.add_business_time(start, amount)
    assert due == ref.add_business_time(ref.single(spec), start, amount)
    assert cal.business_time(start, due) == amount
    assert cal.business_time(start, due - MINUTE) < amount


@FEW
@given(st.data())
def test_amounts_of_a_few_weeks_match_the_reference(data: st.DataObject) -> None:
    spec, start = data.draw(scenarios())
    amount = data.draw(affordable_amount(spec, 3))
    due = BusinessCalendar(spec).add_business_time(start, amount)
    assert due == ref.add_business_time(ref.single(spec), start, amount)


@st.composite
def two_versions(draw: st.DrawFn) -> tuple[list[Version[CalendarSpec]], datetime]:
    zone = draw(st.sampled_from(ZONES))
    start = draw(minute_instants(zone))
    first = draw(specs(zone, start.date()))
    second = draw(specs(draw(st.sampled_from(ZONES)), start.date()))
    switch = start + MINUTE * draw(st.integers(-DAY_MINUTES, 3 * DAY_MINUTES))
    first_from = draw(st.one_of(st.none(), st.just(switch - 2 * DAY_MINUTES * MINUTE)))
    if draw(st.booleans()):
        first_from = switch  # same start: the higher number wins
    recorded = datetime(2016, 1, 1, tzinfo=UTC)
    versions = [Version(2, switch, recorded, second), Version(1, first_from, recorded, first)]
    return versions, start


@MODERATE
@given(two_versions(), st.integers(0, 4 * DAY_MINUTES), st.data())
def test_a_timeline_steps_with_the_version_in_effect_each_minute(
    scenario: tuple[list[Version[CalendarSpec]], datetime],
    span_minutes: int,
    data: st.DataObject,
) -> None:
    versions, start = scenario
    timeline = CalendarTimeline("cal", versions)
    end = start + span_minutes * MINUTE
    assert timeline.business_time(start, end) == ref.business_time(versions, start, end)
    fewest = min((v.value for v in versions), key=weekly_minutes)
    amount = data.draw(affordable_amount(fewest, 0.5))
    due = timeline.add_business_time(start, amount)
    assert due == ref.add_business_time(versions, start, amount)
    pieces = list(timeline.stretches(start, end))
    assert sum((b - a for a, b, is_open in pieces if is_open), timedelta(0)) == (
        timeline.business_time(start, end)
    )


# --- algebra, to the microsecond ------------------------------------------------------------


@st.composite
def micro_calendars(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    zone = draw(st.sampled_from(ZONES))
    start = draw(micro_instants())
    return BusinessCalendar(draw(specs(zone, start.date()))), start


micro_amounts = st.integers(0, 6 * 7 * 24 * 3600 * 10**6).map(lambda n: n * MICRO)


@MODERATE
@given(micro_calendars(), micro_amounts)
def test_elapsed_from_start_to_due_is_the_amount(
    scenario: tuple[BusinessCalendar, datetime], amount: timedelta
) -> None:
    cal, start = scenario
    amount = amount % (cal.business_time(start, start + timedelta(days=120)) + MICRO)
    due = cal.add_business_time(start, amount)
    assert due >= start
    assert cal.business_time(start, due) == amount
    if amount:
        assert cal.business_time(start, due - MICRO) < amount
    assert cal.add_us(to_us(start), amount // MICRO) == to_us(due)


@MODERATE
@given(micro_calendars(), st.lists(micro_amounts, min_size=2, max_size=2))
def test_add_is_monotonic_in_the_amount_and_the_start(
    scenario: tuple[BusinessCalendar, datetime], amounts: list[timedelta]
) -> None:
    cal, start = scenario
    horizon = cal.business_time(start, start + timedelta(days=120)) + MICRO
    small, large = sorted(a % horizon for a in amounts)
    assert cal.add_business_time(start, small) <= cal.add_business_time(start, large)
    later = start + (large - small)
    assert cal.add_business_time(start, small) <= cal.add_business_time(later, small)
    assert cal.business_time(start, start + small) <= cal.business_time(start, start + large)


@MODERATE
@given(micro_calendars(), st.lists(micro_instants(), min_size=2, max_size=2))
def test_elapsed_is_additive_across_a_split_point(
    scenario: tuple[BusinessCalendar, datetime], others: list[datetime]
) -> None:
    cal, first = scenario
    a, b, c = sorted([first, *others])
    assert cal.business_time(a, c) == cal.business_time(a, b) + cal.business_time(b, c)


@MODERATE
@given(micro_calendars(), micro_instants())
def test_stretches_cover_the_span_and_sum_to_the_business_time(
    scenario: tuple[BusinessCalendar, datetime], other: datetime
) -> None:
    cal, first = scenario
    start, end = sorted([first, other])
    end = min(end, start + timedelta(days=500))
    pieces = list(cal.stretches(start, end))
    if start == end:
        assert pieces == []
        return
    assert pieces[0][0] == start
    assert pieces[-1][1] == end
    for (a, b, is_open), (c, _, next_open) in pairwise(pieces):
        assert a < b == c
        assert is_open != next_open
    open_time = sum((b - a for a, b, is_open in pieces if is_open), timedelta(0))
    assert open_time == cal.business_time(start, end)
