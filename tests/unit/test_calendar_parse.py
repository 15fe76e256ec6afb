"""parse_calendar: the PUT body of a calendar, validated field by field."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from domain.calendar import (
    ALWAYS_OPEN,
    ALWAYS_OPEN_ID,
    CalendarSpec,
    GeneratedHolidays,
    calendar_document,
    parse_calendar,
)
from domain.errors import ValidationFailed

NINE_TO_FIVE = [["09:00", "17:00"]]


def api_example() -> dict[str, Any]:
    """The body shown in api.md."""
    return {
        "timezone": "Europe/London",
        "week": {
            "mon": NINE_TO_FIVE,
            "tue": NINE_TO_FIVE,
            "wed": NINE_TO_FIVE,
            "thu": NINE_TO_FIVE,
            "fri": NINE_TO_FIVE,
            "sat": [],
            "sun": [],
        },
        "holidays": {"country": "GB", "subdivision": "ENG"},
        "extra_closed": ["2026-12-24"],
        "extra_open": [],
        "hours_per_working_day": 8,
    }


def fields_of(doc: Any) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_calendar(doc)
    return [e.field for e in caught.value.errors]


def test_the_api_example_parses_into_a_spec() -> None:
    spec = parse_calendar(api_example())
    day = ((9 * 3600, 17 * 3600),)
    assert spec == CalendarSpec(
        timezone="Europe/London",
        week=(day, day, day, day, day, (), ()),
        holidays=GeneratedHolidays("GB", "ENG"),
        extra_closed=frozenset({date(2026, 12, 24)}),
        extra_open=frozenset(),
        hours_per_working_day=8.0,
    )


def test_defaults_a_left_out_weekday_is_closed_and_8_hours_a_day() -> None:
    spec = parse_calendar({"timezone": "Asia/Dubai", "week": {"sun": [["08:00", "16:00"]]}})
    assert spec.week == ((), (), (), (), (), (), ((8 * 3600, 16 * 3600),))
    assert spec.holidays == frozenset()
    assert spec.extra_closed == spec.extra_open == frozenset()
    assert spec.hours_per_working_day == 8.0


def test_several_intervals_a_day_and_24_00_closing() -> None:
    spec = parse_calendar(
        {"timezone": "UTC", "week": {"mon": [["00:00", "12:00"], ["13:00", "24:00"]]}}
    )
    assert spec.week[0] == ((0, 12 * 3600), (13 * 3600, 86400))


def test_touching_intervals_are_allowed() -> None:
    spec = parse_calendar(
        {"timezone": "UTC", "week": {"mon": [["09:00", "12:00"], ["12:00", "17:00"]]}}
    )
    assert spec.week[0] == ((9 * 3600, 12 * 3600), (12 * 3600, 17 * 3600))


def test_holidays_as_a_list_of_dates() -> None:
    doc = api_example() | {"holidays": ["2026-03-17", "2026-01-01", "2026-03-17"]}
    assert parse_calendar(doc).holidays == frozenset({date(2026, 3, 17), date(2026, 1, 1)})


def test_generated_holidays_without_subdivision() -> None:
    doc = api_example() | {"holidays": {"country": "IE"}}
    assert parse_calendar(doc).holidays == GeneratedHolidays("IE", None)


def test_effective_from_is_left_to_the_caller() -> None:
    doc = api_example() | {"effective_from": "2026-01-01T00:00:00Z"}
    assert parse_calendar(doc) == parse_calendar(api_example())


@pytest.mark.parametrize("hours", [0.5, 7.5, 24])
def test_hours_per_working_day_accepts_numbers_in_range(hours: float) -> None:
    doc = api_example() | {"hours_per_working_day": hours}
    assert parse_calendar(doc).hours_per_working_day == hours


def test_the_canonical_document_of_the_api_example() -> None:
    assert calendar_document(parse_calendar(api_example())) == api_example()


@pytest.mark.parametrize(
    "doc",
    [
        api_example(),
        api_example() | {"holidays": ["2026-03-17"], "extra_open": ["2026-02-07"]},
        api_example() | {"holidays": {"country": "US"}, "hours_per_working_day": 7.5},
        {"timezone": "Australia/Sydney", "week": {"mon": [["08:30", "12:00"], ["13:00", "24:00"]]}},
    ],
)
def test_the_canonical_document_parses_back_to_the_same_spec(doc: dict[str, Any]) -> None:
    spec = parse_calendar(doc)
    assert parse_calendar(calendar_document(spec)) == spec
    assert calendar_document(parse_calendar(calendar_document(spec))) == calendar_document(spec)


def test_the_canonical_document_lists_every_weekday_and_sorted_dates() -> None:
    doc = {
        "timezone": "UTC",
        "week": {"fri": NINE_TO_FIVE},
        "holidays": ["2026-12-25", "2026-01-01"],
    }
    canonical = calendar_document(parse_calendar(doc))
    assert list(canonical["week"]) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert canonical["week"]["mon"] == []
    assert canonical["holidays"] == ["2026-01-01", "2026-12-25"]
    assert canonical["hours_per_working_day"] == 8


def test_always_open_is_24x7_utc_with_24_hour_days() -> None:
    assert ALWAYS_OPEN_ID == "24x7"
    assert ALWAYS_OPEN.timezone == "UTC"
    assert ALWAYS_OPEN.week == tuple(((0, 86400),) for _ in range(7))
    assert ALWAYS_OPEN.holidays == frozenset()
    assert ALWAYS_OPEN.hours_per_working_day == 24
    assert parse_calendar(calendar_document(ALWAYS_OPEN)) == ALWAYS_OPEN


# --- errors -------------------------------------------------------------------


def with_changes(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(api_example())
    for key, value in changes.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    return doc


def with_monday(*intervals: Any) -> dict[str, Any]:
    doc = api_example()
    doc["week"] = {**doc["week"], "mon": list(intervals)}
    return doc


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (with_changes(timezone=None), "timezone"),
        (with_changes(timezone="Mars/Olympus_Mons"), "timezone"),
        (with_changes(timezone="europe/london"), "timezone"),
        (with_changes(timezone="../../etc/passwd"), "timezone"),
        (with_changes(timezone=3), "timezone"),
        (with_changes(week=None), "week"),
        (with_changes(week=[["09:00", "17:00"]]), "week"),
        (with_changes(week={"sat": []}), "week"),
        (with_changes(week={"mon": NINE_TO_FIVE, "funday": NINE_TO_FIVE}), "week.funday"),
        (with_changes(week={"mon": ["09:00-17:00"]}), "week.mon[0]"),
        (with_changes(week={"mon": "09:00-17:00"}), "week.mon"),
        (with_monday(["09:00", "12:00"], ["9:00", "17:00"]), "week.mon[1]"),
        (with_monday(["09:00", "12:00"], ["13:00", "25:00"]), "week.mon[1]"),
        (with_monday(["09:00", "12:60"]), "week.mon[0]"),
        (with_monday(["09:00", "24:01"]), "week.mon[0]"),
        (with_monday(["09:00", "17:00:00"]), "week.mon[0]"),
        (with_monday(["17:00", "09:00"]), "week.mon[0]"),
        (with_monday(["09:00", "09:00"]), "week.mon[0]"),
        (with_monday(["24:00", "24:00"]), "week.mon[0]"),
        (with_monday(["09:00", "17:00", "18:00"]), "week.mon[0]"),
        (with_monday([9, 17]), "week.mon[0]"),
        (with_monday(["09:00", "13:00"], ["12:00", "17:00"]), "week.mon[1]"),
        (with_monday(["13:00", "17:00"], ["09:00", "12:00"]), "week.mon[1]"),
        (with_changes(holidays="GB"), "holidays"),
        (with_changes(holidays={"country": "XX"}), "holidays.country"),
        (with_changes(holidays={"country": "GBR", "subdivision": "ENG"}), "holidays.country"),
        (with_changes(holidays={"country": 44}), "holidays.country"),
        (with_changes(holidays={"subdivision": "ENG"}), "holidays.country"),
        (with_changes(holidays={"country": "GB", "subdivision": "XYZ"}), "holidays.subdivision"),
        (with_changes(holidays={"country": "GB", "region": "ENG"}), "holidays.region"),
        (with_changes(holidays=["2026-01-01", "2026-03-17", "2026-02-30"]), "holidays[2]"),
        (with_changes(holidays=["2026-01-01", "2026-03-17", "20261225"]), "holidays[2]"),
        (with_changes(holidays=["2026-01-01", "2026-03-17", 20261225]), "holidays[2]"),
        (with_changes(extra_closed=["24/12/2026"]), "extra_closed[0]"),
        (with_changes(extra_closed="2026-12-24"), "extra_closed"),
        (with_changes(extra_open=["2026-02-07", "2026-W06-6"]), "extra_open[1]"),
        (with_changes(extra_open=["2026-12-24"]), "extra_open[0]"),
        (with_changes(hours_per_working_day=0), "hours_per_working_day"),
        (with_changes(hours_per_working_day=-8), "hours_per_working_day"),
        (with_changes(hours_per_working_day=24.5), "hours_per_working_day"),
        (with_changes(hours_per_working_day="8"), "hours_per_working_day"),
        (with_changes(hours_per_working_day=True), "hours_per_working_day"),
        (with_changes(hours_per_working_day=float("nan")), "hours_per_working_day"),
        (with_changes(hours_per_working_day=float("inf")), "hours_per_working_day"),
        (with_changes(name="London office"), "name"),
    ],
)
def test_each_bad_field_is_named(doc: dict[str, Any], field: str) -> None:
    assert fields_of(doc) == [field]


def test_every_bad_field_is_reported_at_once() -> None:
    doc = {
        "timezone": "Nowhere/Land",
        "week": {"mon": [["09:00", "17:00"], ["16:00", "18:00"]], "funday": []},
        "holidays": {"country": "GB", "subdivision": "XYZ"},
        "extra_closed": ["tomorrow"],
        "hours_per_working_day": 30,
        "colour": "blue",
    }
    assert sorted(fields_of(doc)) == sorted(
        [
            "colour",
            "timezone",
            "week.funday",
            "week.mon[1]",
            "holidays.subdivision",
            "extra_closed[0]",
            "hours_per_working_day",
        ]
    )


def test_the_error_says_why() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_calendar(with_monday(["09:00", "13:00"], ["12:00", "17:00"]))
    assert "previous interval" in caught.value.errors[0].message


def test_a_body_that_is_not_an_object_is_rejected() -> None:
    assert fields_of(["timezone", "UTC"]) == [""]


# --- document sizes ------------------------------------------------------------------


def test_date_lists_and_intervals_a_day_are_bounded() -> None:
    dates = [f"{2026 + n // 365:04d}-01-01" for n in range(10_001)]
    minutes = [[f"{h:02d}:00", f"{h:02d}:01"] for h in range(24)]
    doc = api_example() | {
        "holidays": dates,
        "extra_closed": dates,
        "extra_open": dates,
        "week": {"mon": [*minutes, ["23:58", "23:59"]]},
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_calendar(doc)
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("week.mon", "at most 24 intervals a day"),
        ("holidays", "at most 10000 dates"),
        ("extra_closed", "at most 10000 dates"),
        ("extra_open", "at most 10000 dates"),
    ]


def test_the_limits_themselves_are_accepted() -> None:
    days = [f"{2026 + n // 12:04d}-{n % 12 + 1:02d}-01" for n in range(10_000)]
    minutes = [[f"{h:02d}:00", f"{h:02d}:01"] for h in range(24)]
    spec = parse_calendar(api_example() | {"holidays": days, "week": {"mon": minutes}})
    assert (len(spec.holidays), len(spec.week[0])) == (10_000, 24)
