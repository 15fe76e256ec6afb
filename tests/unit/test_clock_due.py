"""Due and warning instants, breaches by the passing of time, and the calendars behind them:
closes, out-of-hours starts, DST, holidays, lunch breaks, calendar versions, working days."""

from __future__ import annotations

from typing import Any

import pytest

from domain.clock_model import ClockState, Outcome
from domain.errors import Conflict
from domain.policy import Policy
from domain.versions import Version
from tests.unit.builders import (
    HOUR,
    OFFICE,
    Ticket,
    calendar_doc,
    calendars,
    clock_of,
    policy,
    utc,
)


def one_target(target: dict[str, Any], calendar: str = "office", **changes: Any) -> Version[Policy]:
    """A policy whose only metric is response, with ``target`` for P3."""
    metrics = {"response": {"targets": {"P3": target}}}
    return policy(metrics=metrics, calendar=calendar, **changes)


def test_due_at_close_of_interval() -> None:
    # The spec's own example: 4 business hours from Friday 13:00 on 09:00-17:00.
    ticket = Ticket().opened("2026-03-06T13:00:00Z", priority="P2")
    clock = clock_of(ticket, "2026-03-06T14:00:00Z")
    assert clock.due_at == utc("2026-03-06T17:00:00Z")
    at_close = clock_of(ticket, "2026-03-06T17:00:00Z")
    assert (at_close.outcome, at_close.remaining_seconds) == (Outcome.PENDING, 0)


def test_clock_due_at_a_close_is_breached_while_the_calendar_is_closed() -> None:
    ticket = Ticket().opened("2026-03-06T13:00:00Z", priority="P2")
    weekend = clock_of(ticket, "2026-03-07T12:00:00Z")
    assert (weekend.outcome, weekend.breached_at) == (
        Outcome.BREACHED,
        utc("2026-03-06T17:00:00Z"),
    )
    # no business time accrues over the weekend: remaining stays 0 until Monday
    assert weekend.remaining_seconds == 0
    assert clock_of(ticket, "2026-03-09T09:00:10Z").remaining_seconds == -10


def test_opened_out_of_hours_accrues_nothing_until_opening() -> None:
    ticket = Ticket().opened("2026-03-07T10:00:00Z")  # Saturday
    sunday = clock_of(ticket, "2026-03-08T20:00:00Z")
    assert sunday.elapsed_seconds == 0
    assert sunday.due_at == utc("2026-03-09T17:00:00Z")  # 8h from Monday's opening
    assert sunday.warn_at == utc("2026-03-09T15:00:00Z")
    assert clock_of(ticket, "2026-03-09T09:00:00Z").elapsed_seconds == 0
    assert clock_of(ticket, "2026-03-09T09:30:00Z").elapsed_seconds == 1800


def test_opened_before_opening_time_on_a_working_day() -> None:
    ticket = Ticket().opened("2026-03-02T07:00:00Z")
    assert clock_of(ticket, "2026-03-02T08:59:00Z").due_at == utc("2026-03-02T17:00:00Z")


def test_running_clock_is_breached_only_after_its_due_instant() -> None:
    ticket = Ticket().opened("2026-03-02T09:00:00Z", priority="P1")  # response 1h
    on_time = clock_of(ticket, "2026-03-02T10:00:00Z")
    assert (on_time.outcome, on_time.breached_at, on_time.remaining_seconds) == (
        Outcome.PENDING,
        None,
        0,
    )
    late = clock_of(ticket, "2026-03-02T10:00:01Z")
    assert late.state is ClockState.RUNNING
    assert late.outcome is Outcome.BREACHED
    assert late.breached_at == utc("2026-03-02T10:00:00Z")
    assert late.remaining_seconds == -1


def test_breached_running_clock_reports_due_at_as_its_breached_at() -> None:
    ticket = Ticket().opened("2026-03-02T09:00:00Z", priority="P1")
    late = clock_of(ticket, "2026-03-03T12:00:00Z")
    assert late.due_at == late.breached_at == utc("2026-03-02T10:00:00Z")


def test_warn_at_and_at_risk() -> None:
    ticket = Ticket().opened("2026-03-02T09:00:00Z")  # response 8h: warn after 6h
    assert clock_of(ticket, "2026-03-02T12:00:00Z").warn_at == utc("2026-03-02T15:00:00Z")
    assert clock_of(ticket, "2026-03-02T12:00:00Z").at_risk is False
    assert clock_of(ticket, "2026-03-02T15:00:00Z").at_risk is False  # at, not past
    assert clock_of(ticket, "2026-03-02T15:00:01Z").at_risk is True
    assert clock_of(ticket, "2026-03-02T17:00:00Z").at_risk is True
    breached = clock_of(ticket, "2026-03-02T17:00:01Z")
    assert (breached.outcome, breached.at_risk) == (Outcome.BREACHED, False)
    assert breached.warn_at == utc("2026-03-02T15:00:00Z")


def test_stopped_clock_is_not_at_risk() -> None:
    ticket = Ticket().opened("2026-03-02T09:00:00Z").then("responded", "2026-03-02T16:00:00Z")
    clock = clock_of(ticket, "2026-03-02T16:30:00Z")
    assert (clock.at_risk, clock.warn_at, clock.outcome) == (False, None, Outcome.MET)


def test_warning_fraction_comes_from_the_policy() -> None:
    plan = policy(warning_fraction=0.5)
    ticket = Ticket().opened("2026-03-02T09:00:00Z")
    assert clock_of(ticket, "2026-03-02T10:00:00Z", plan=plan).warn_at == utc(
        "2026-03-02T13:00:00Z"
    )


def test_warning_threshold_is_truncated_to_whole_seconds() -> None:
    plan = one_target({"minutes": 1}, warning_fraction=0.33)  # 19.8 s -> 19 s
    ticket = Ticket().opened("2026-03-02T09:00:00Z")
    assert clock_of(ticket, "2026-03-02T09:00:05Z", plan=plan).warn_at == utc(
        "2026-03-02T09:00:19Z"
    )


def test_fractional_target_seconds_are_truncated() -> None:
    plan = one_target({"minutes": 1.51})  # 90.6 s
    ticket = Ticket().opened("2026-03-02T09:00:00Z")
    clock = clock_of(ticket, "2026-03-02T09:00:05Z", plan=plan)
    assert clock.target_seconds == 90
    assert clock.due_at == utc("2026-03-02T09:01:30Z")


def test_sub_second_elapsed_is_truncated_and_instants_keep_their_precision() -> None:
    plan = one_target({"hours": 1})
    ticket = Ticket().opened("2026-03-02T09:00:00.600Z")
    assert clock_of(ticket, "2026-03-02T09:00:01.500Z", plan=plan).elapsed_seconds == 0
    clock = clock_of(ticket, "2026-03-02T09:00:02Z", plan=plan)
    assert clock.elapsed_seconds == 1
    assert clock.due_at == utc("2026-03-02T10:00:00.600Z")
    assert clock.started_at == utc("2026-03-02T09:00:00.600Z")


def test_working_days_use_the_calendars_hours_per_working_day() -> None:
    lookup = calendars(
        {"short": calendar_doc(hours=[["09:00", "16:30"]], hours_per_working_day=7.5)}
    )
    plan = one_target({"working_days": 2}, calendar="short")
    ticket = Ticket().opened("2026-03-02T09:00:00Z")
    clock = clock_of(ticket, "2026-03-02T10:00:00Z", plan=plan, lookup=lookup)
    assert clock.target_seconds == 15 * HOUR
    assert clock.due_at == utc("2026-03-03T16:30:00Z")


def test_working_day_on_24x7_is_24_hours_of_wall_clock() -> None:
    plan = one_target({"working_days": 1}, calendar="24x7")
    ticket = Ticket().opened("2026-03-28T12:00:00Z")  # the eve of the UK's spring change
    clock = clock_of(ticket, "2026-03-28T13:00:00Z", plan=plan)
    assert clock.calendar == "24x7"
    assert clock.target_seconds == 24 * HOUR
    assert clock.due_at == utc("2026-03-29T12:00:00Z")


def test_working_days_use_the_calendar_version_in_effect_when_the_target_applied() -> None:
    lookup = calendars(
        {
            "office": [
                OFFICE,
                {**OFFICE, "hours_per_working_day": 6, "effective_from": "2026-03-04T00:00:00Z"},
            ]
        }
    )
    plan = policy()  # response P3 1 working day, P4 2 working days
    before = Ticket().opened("2026-03-02T09:00:00Z")
    after = Ticket().opened("2026-03-05T09:00:00Z")
    assert (
        clock_of(before, "2026-03-05T10:00:00Z", plan=plan, lookup=lookup).target_seconds
        == 8 * HOUR
    )
    assert (
        clock_of(after, "2026-03-05T10:00:00Z", plan=plan, lookup=lookup).target_seconds == 6 * HOUR
    )
    # a target taken on by a priority change converts at the change
    before.priority("P4", "2026-03-02T10:00:00Z")
    after.priority("P4", "2026-03-05T10:00:00Z")
    assert (
        clock_of(before, "2026-03-05T11:00:00Z", plan=plan, lookup=lookup).target_seconds
        == 16 * HOUR
    )
    assert (
        clock_of(after, "2026-03-05T11:00:00Z", plan=plan, lookup=lookup).target_seconds
        == 12 * HOUR
    )


def test_dst_spring_forward_keeps_local_office_hours() -> None:
    # Friday 27 March 16:00 GMT; London moves to BST on Sunday 29 March.
    ticket = Ticket().opened("2026-03-27T16:00:00Z")
    clock = clock_of(ticket, "2026-03-30T09:00:00Z", plan=policy())  # Monday 10:00 BST
    assert clock.elapsed_seconds == 2 * HOUR  # Friday 16-17, Monday 09-10 local
    assert clock.due_at == utc("2026-03-30T15:00:00Z")  # 7h from 09:00 BST = 16:00 BST


def test_dst_fall_back_keeps_local_office_hours() -> None:
    # Friday 23 October 16:00 BST; London returns to GMT on Sunday 25 October.
    ticket = Ticket().opened("2026-10-23T15:00:00Z")
    clock = clock_of(ticket, "2026-10-26T10:00:00Z", plan=policy())  # Monday 10:00 GMT
    assert clock.elapsed_seconds == 2 * HOUR
    assert clock.due_at == utc("2026-10-26T16:00:00Z")


def test_dst_gap_inside_open_hours_shortens_the_day() -> None:
    # Open Sundays 00:00-06:00 London: on 29 March 01:00-02:00 GMT never happens.
    night = calendar_doc(hours=[], week={"sun": [["00:00", "06:00"]]})
    lookup = calendars({"night": night})
    plan = one_target({"hours": 12}, calendar="night")
    ticket = Ticket().opened("2026-03-28T12:00:00Z")
    clock = clock_of(ticket, "2026-03-29T12:00:00Z", plan=plan, lookup=lookup)
    assert clock.elapsed_seconds == 5 * HOUR  # 00:00 GMT to 06:00 BST
    # the other 7h: 6h on Sunday 5 April, then 00:00-01:00 BST on 12 April
    assert clock.due_at == utc("2026-04-12T00:00:00Z")


def test_holidays_close_the_calendar_all_day() -> None:
    # Thursday 2 April 15:00 BST; Good Friday and Easter Monday are holidays.
    ticket = Ticket().opened("2026-04-02T14:00:00Z")
    clock = clock_of(ticket, "2026-04-06T12:00:00Z", plan=policy())
    assert clock.elapsed_seconds == 2 * HOUR
    assert clock.due_at == utc("2026-04-07T14:00:00Z")  # Tuesday 09:00 BST + 6h


def test_generated_holidays_close_the_calendar() -> None:
    lookup = calendars({"office": calendar_doc(holidays={"country": "GB", "subdivision": "ENG"})})
    ticket = Ticket().opened("2026-05-01T15:00:00Z")  # Friday 16:00 BST; 4 May is a bank holiday
    clock = clock_of(ticket, "2026-05-04T12:00:00Z", plan=policy(), lookup=lookup)
    assert clock.elapsed_seconds == HOUR
    assert clock.due_at == utc("2026-05-05T15:00:00Z")  # 7h from Tuesday 09:00 BST


def test_lunch_break_is_not_counted() -> None:
    lookup = calendars({"office": calendar_doc(hours=[["09:00", "12:30"], ["13:30", "17:00"]])})
    ticket = Ticket().opened("2026-03-02T11:00:00Z", priority="P2")  # response 4h
    clock = clock_of(ticket, "2026-03-02T13:00:00Z", plan=policy(), lookup=lookup)
    assert clock.elapsed_seconds == 5400
    assert clock.due_at == utc("2026-03-02T16:00:00Z")


def test_calendar_version_declared_later_reaches_a_running_ticket() -> None:
    closed_tuesday = {
        **OFFICE,
        "extra_closed": ["2026-03-03"],
        "effective_from": "2026-03-02T12:00:00Z",
    }
    lookup = calendars({"office": [OFFICE, closed_tuesday]})
    ticket = Ticket().opened("2026-03-02T09:00:00Z", priority="P4")  # response 16h
    without = clock_of(ticket, "2026-03-02T10:00:00Z", plan=policy())
    assert without.due_at == utc("2026-03-03T17:00:00Z")
    clock = clock_of(ticket, "2026-03-02T10:00:00Z", plan=policy(), lookup=lookup)
    assert clock.due_at == utc("2026-03-04T17:00:00Z")


def test_opened_on_a_holiday_accrues_nothing_that_day() -> None:
    ticket = Ticket().opened("2026-04-03T10:00:00Z")  # Good Friday
    clock = clock_of(ticket, "2026-04-06T16:00:00Z", plan=policy())  # Easter Monday
    assert clock.elapsed_seconds == 0
    assert clock.due_at == utc("2026-04-07T16:00:00Z")  # Tuesday 09:00-17:00 BST


def test_a_target_not_met_before_the_horizon_has_no_due_instant() -> None:
    # One minute a week and 8,760 hours: due in about 10,000 years, after 2200-01-01.
    sparse = calendar_doc("UTC", hours=[], week={"mon": [["09:00", "09:01"]]})
    plan = one_target({"hours": 8760}, calendar="sparse", warning_fraction=0.5)
    ticket = Ticket().opened("2026-03-02T09:00:00Z")
    for at in ("2026-03-02T09:00:30Z", "2199-12-31T23:59:59Z"):
        clock = clock_of(ticket, at, plan=plan, lookup=calendars({"sparse": sparse}))
        assert (clock.state, clock.outcome, clock.at_risk) == (
            ClockState.RUNNING,
            Outcome.PENDING,
            False,
        )
        assert (clock.due_at, clock.warn_at) == (None, None)
    assert clock.elapsed_seconds == 9071 * 60  # one minute on each of 9,071 Mondays


def test_events_outside_the_range_of_instants_are_not_evaluated() -> None:
    # Only a log written before the range was enforced holds such events.
    early = Ticket().opened("0001-01-01T00:00:00Z")
    with pytest.raises(Conflict, match="outside the instants slaclock evaluates"):
        clock_of(early, "2026-03-02T09:00:00Z")
    late = Ticket().opened("2026-03-02T09:00:00Z").then("responded", "9999-12-31T00:00:00Z")
    assert clock_of(late, "2026-03-03T09:00:00Z").state is ClockState.RUNNING  # not yet applied
    with pytest.raises(Conflict, match="outside the instants slaclock evaluates"):
        clock_of(late, "9999-12-31T00:00:00Z")
