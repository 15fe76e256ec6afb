"""Term maths: "12 months to the day" in the term's zone, clamping, renewal with notice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.contract_terms import Term, add_months, contract_end, last_term, parse_term
from domain.errors import FieldError


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_term_runs_from_local_midnight_to_the_same_day_months_later() -> None:
    term = Term(date(2026, 3, 15), 12, "America/Los_Angeles")
    assert term.boundary(0) == utc("2026-03-15T00:00:00-07:00")
    assert term.boundary(1) == utc("2027-03-15T00:00:00-07:00")


def test_29_february_plus_12_months_is_28_february() -> None:
    term = Term(date(2028, 2, 29), 12, "UTC")
    assert term.boundary(1) == utc("2029-02-28T00:00:00+00:00")
    # Each boundary counts from the start: four years on, 29 February again.
    assert term.boundary(4) == utc("2032-02-29T00:00:00+00:00")


def test_31_january_monthly_terms_clamp_each_month_on_its_own() -> None:
    term = Term(date(2026, 1, 31), 1, "UTC")
    assert [term.boundary(k).date() for k in range(4)] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    st.integers(min_value=0, max_value=600),
)
def test_add_months_keeps_the_day_or_clamps_to_the_months_last(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(days=1)).day == 1)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(min_value=1, max_value=36),
    st.integers(min_value=0, max_value=10**9),
    st.sampled_from(["UTC", "America/Los_Angeles", "Europe/London", "Asia/Kolkata"]),
)
def test_index_at_finds_the_term_containing_the_instant(
    start: date, months: int, offset: int, zone: str
) -> None:
    term = Term(start, months, zone, auto_renew=True)
    instant = term.boundary(0) + timedelta(seconds=offset)
    k = term.index_at(instant)
    assert k is not None
    assert term.boundary(k) <= instant < term.boundary(k + 1)


def test_before_the_first_term_there_is_no_term() -> None:
    term = Term(date(2026, 3, 15), 12, "UTC")
    assert term.index_at(utc("2026-03-14T23:59:59+00:00")) is None


ANNUAL = Term(date(2026, 1, 1), 12, "UTC", auto_renew=True, notice_days=60)
# 60 days before 1 January 2027 is 2 November 2026.
DEADLINE = utc("2026-11-02T00:00:00+00:00")


def test_without_auto_renew_the_contract_ends_with_its_first_term() -> None:
    term = Term(date(2026, 3, 15), 12, "America/Los_Angeles")
    assert contract_end(term, [], []) == utc("2027-03-15T00:00:00-07:00")


def test_auto_renew_without_notice_never_ends() -> None:
    assert last_term(ANNUAL, []) is None
    assert contract_end(ANNUAL, [], []) is None


def test_notice_given_in_time_stops_renewal_at_the_terms_end() -> None:
    assert ANNUAL.notice_deadline(0) == DEADLINE
    assert contract_end(ANNUAL, [DEADLINE], []) == utc("2027-01-01T00:00:00+00:00")


def test_late_notice_lets_the_contract_renew_once_more() -> None:
    late = DEADLINE + timedelta(seconds=1)
    assert contract_end(ANNUAL, [late], []) == utc("2028-01-01T00:00:00+00:00")


def test_notice_in_a_later_term_counts_against_that_terms_end() -> None:
    in_time = utc("2027-06-01T00:00:00+00:00")
    assert contract_end(ANNUAL, [in_time], []) == utc("2028-01-01T00:00:00+00:00")


def test_contract_ended_ends_at_once_even_before_the_terms_end() -> None:
    ended = utc("2026-05-05T10:00:00+00:00")
    assert contract_end(ANNUAL, [], [ended]) == ended
    assert contract_end(ANNUAL, [DEADLINE], [ended]) == ended


@pytest.mark.parametrize(
    ("term", "field"),
    [
        ({"start": "2026-02-30", "months": 12, "timezone": "UTC"}, "t.start"),
        ({"start": "2026-02-01", "months": 0, "timezone": "UTC"}, "t.months"),
        ({"start": "2026-02-01", "months": 12, "timezone": "Mars/Base"}, "t.timezone"),
        (
            {"start": "2026-02-01", "months": 12, "timezone": "UTC", "notice_days": -1},
            "t.notice_days",
        ),
        (
            {"start": "2026-02-01", "months": 12, "timezone": "UTC", "auto_renew": "yes"},
            "t.auto_renew",
        ),
        ({"start": "2026-02-01", "months": 12, "timezone": "UTC", "years": 1}, "t.years"),
    ],
)
def test_bad_terms_name_the_field(term: dict[str, object], field: str) -> None:
    errors: list[FieldError] = []
    assert parse_term(term, "t", errors) is None
    assert [e.field for e in errors] == [field]
