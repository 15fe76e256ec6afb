"""The evaluator against a slow, obviously-right reference that steps minute by minute.

The reference shares no code with ``domain.clocks``, ``domain.ledger`` or
``domain.business_time``: it reads the rules of sla-semantics.md (and the
choices of docs/semantics.md) as a simulation, one UTC minute at a time, on a
hand-written open/closed test of the property calendar (London 09:00-12:30 and
13:30-17:00 on weekdays, Good Friday and Easter Monday closed). Every event of
the random histories falls on a whole minute, so a minute is open or closed as
a whole and accrual is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.clock_model import Clock, ClockState, TicketState
from domain.clocks import evaluate
from domain.events import TicketEvent
from domain.policy import Policy, Target, parse_policy
from domain.versions import Version
from tests.unit.builders import (
    PROPERTY_CALENDARS,
    PROPERTY_POLICY_DOC,
    RECORDING_START,
    Ticket,
    histories,
)

MINUTE = timedelta(minutes=1)
LONDON = ZoneInfo("Europe/London")
HOLIDAYS = {date(2026, 4, 3), date(2026, 4, 6)}
POLICY = parse_policy(PROPERTY_POLICY_DOC)
HOURS_PER_DAY = {"office": 7.0, "24x7": 24.0}
STOPS = {
    "responded": {"response"},
    "relieved": {"response", "relief"},
    "resolved": {"response", "relief", "resolution"},
    "closed": {"response", "relief", "resolution"},
}


@cache
def _office_minute_open(epoch_minute: int) -> bool:
    local = datetime.fromtimestamp(epoch_minute * 60, tz=UTC).astimezone(LONDON)
    if local.weekday() >= 5 or local.date() in HOLIDAYS:
        return False
    minute_of_day = local.hour * 60 + local.minute
    return 9 * 60 <= minute_of_day < 12 * 60 + 30 or 13 * 60 + 30 <= minute_of_day < 17 * 60


def is_open(calendar: str, minute: datetime) -> bool:
    return calendar == "24x7" or _office_minute_open(int(minute.timestamp()) // 60)


@dataclass
class RefClock:
    metric: str
    pauses: bool
    calendar: str
    priority: str
    state: str = "running"
    accrued: int = 0  # seconds
    target: int | None = None
    warn: int = 0
    warned_at: datetime | None = None
    due: datetime | None = None  # when this run used the target up, once it has
    outcome: str = "pending"
    breached_at: datetime | None = None
    stopped_at: datetime | None = None

    def check(self, t: datetime) -> None:
        if self.state == "running" and self.outcome != "breached" and self.due and t > self.due:
            self.outcome, self.breached_at = "breached", self.due

    def accrue(self, t: datetime) -> None:
        """The minute [t, t + 1 min)."""
        if self.state != "running" or not is_open(self.calendar, t):
            return
        before = self.accrued
        self.accrued += 60
        if self.target is None:
            return
        if before < self.target <= self.accrued:
            self.due = t + timedelta(seconds=self.target - before)
        if self.warned_at is None and before < self.warn <= self.accrued:
            self.warned_at = t + timedelta(seconds=self.warn - before)

    def apply_target(self, t: datetime, target: Target) -> None:
        seconds = target.seconds(HOURS_PER_DAY[self.calendar])
        warn = math.floor(round(POLICY.warning_fraction * seconds, 6))
        if warn != self.warn or self.warned_at is None:
            self.warned_at = t if self.accrued >= warn else None
        self.warn, self.target = warn, seconds
        if self.outcome != "breached" and self.accrued > seconds:
            self.outcome, self.breached_at = "breached", t
        self.due = t if self.accrued == seconds else None

    def run_from(self, t: datetime) -> None:
        self.state = "running"
        self.due = t if self.target is not None and self.accrued == self.target else None

    def stop(self, t: datetime) -> None:
        if self.state != "stopped":
            self.state, self.stopped_at = "stopped", t
            if self.target is not None and self.outcome == "pending":
                self.outcome = "met"

    def change(self, t: datetime, priority: str) -> None:
        if self.state == "stopped":
            return
        self.priority = priority
        target = POLICY.target_for(self.metric, priority)
        if target is None and self.target is not None:
            return
        self.calendar = POLICY.calendar_for(priority)
        if target is not None:
            self.apply_target(t, target)


class RefTicket:
    def __init__(self, policy: Policy, opened: TicketEvent) -> None:
        self.priority = policy.initial_priority(opened.data)
        self.awaiting = self.resolved = self.closed = False
        self.clocks = []
        for name, metric in policy.metrics.items():
            clock = RefClock(name, metric.pause_when_awaiting_customer, "", self.priority)
            clock.calendar = POLICY.calendar_for(self.priority)
            target = POLICY.target_for(name, self.priority)
            if target is not None:
                clock.apply_target(opened.occurred_at, target)
            self.clocks.append(clock)

    def apply(self, event: TicketEvent, t: datetime) -> None:
        kind = event.type.value
        if self.closed and kind != "reopened":
            return
        if kind == "priority_changed" and event.data["priority"] != self.priority:
            self.priority = event.data["priority"]
            for clock in self.clocks:
                clock.change(t, self.priority)
        elif kind == "awaiting_customer" and not self.awaiting:
            self.awaiting = True
            for clock in self.clocks:
                if clock.state == "running" and clock.pauses:
                    clock.state = "paused"
        elif kind == "customer_replied" and self.awaiting:
            self.awaiting = False
            for clock in self.clocks:
                if clock.state == "paused":
                    clock.run_from(t)
        elif kind == "reopened" and (self.resolved or self.closed):
            self.reopen(t)
        elif kind in STOPS:
            for clock in self.clocks:
                if clock.metric in STOPS[kind]:
                    clock.stop(t)
            self.resolved = self.resolved or kind == "resolved"
            self.closed = kind == "closed"

    def reopen(self, t: datetime) -> None:
        self.awaiting = self.resolved = self.closed = False
        for clock in self.clocks:
            if clock.metric == "resolution" and clock.state == "stopped":
                clock.run_from(t)
                clock.stopped_at = None
                clock.outcome = "pending" if clock.outcome == "met" else clock.outcome
                if clock.priority != self.priority:
                    clock.change(t, self.priority)


def simulate(ticket: Ticket, at: datetime) -> RefTicket:
    """The reference state at ``at``: events applied at their minute, then the minute accrues."""
    events = sorted(
        (e for e in ticket.events if e.occurred_at <= at),
        key=lambda e: (e.occurred_at, e.originator_version),
    )
    opened = events[0]
    state = RefTicket(POLICY, opened)
    pending = [e for e in events[1:] if e.occurred_at >= opened.occurred_at]
    t = opened.occurred_at
    while True:
        for clock in state.clocks:
            clock.check(t)
        while pending and pending[0].occurred_at == t:
            state.apply(pending.pop(0), t)
        if t >= at:
            return state
        for clock in state.clocks:
            clock.accrue(t)
        t += MINUTE


def project(clock: RefClock, at: datetime) -> RefClock:
    """Run a copy on, with no more events, until its due and warning instants are known."""
    ahead = RefClock(**vars(clock))
    t = at
    # A clock breached by a raise may never "reach" its target again: it is past it.
    while (ahead.due is None and ahead.outcome != "breached") or ahead.warned_at is None:
        ahead.accrue(t)
        t += MINUTE
        assert t < at + timedelta(days=60), "the reference never reached the target"
    return ahead


def assert_same(clock: Clock | None, ref: RefClock, at: datetime) -> None:
    assert clock is not None
    assert ref.target is not None
    assert (clock.calendar, clock.state.value, clock.outcome.value) == (
        ref.calendar,
        ref.state,
        ref.outcome,
    )
    assert (clock.target_seconds, clock.elapsed_seconds) == (ref.target, ref.accrued)
    assert (clock.stopped_at, clock.breached_at) == (ref.stopped_at, ref.breached_at)
    if clock.state is not ClockState.RUNNING:
        return
    ahead = project(ref, at)
    at_risk = ref.outcome == "pending" and ahead.warned_at is not None and at > ahead.warned_at
    assert clock.at_risk == at_risk
    assert clock.warn_at == ahead.warned_at
    assert clock.due_at == (ref.breached_at if ref.outcome == "breached" else ahead.due)


def compare(state: TicketState, ref: RefTicket, at: datetime) -> None:
    assert state.priority == ref.priority
    with_target = [c for c in ref.clocks if c.target is not None]
    assert [c.metric for c in state.clocks] == [c.metric for c in with_target]
    for ref_clock in with_target:
        assert_same(state.clock(ref_clock.metric), ref_clock, at)


PLAN = Version(1, None, RECORDING_START, POLICY)


@settings(max_examples=250, deadline=None)
@given(histories(), st.integers(0, 6 * 1440))
def test_evaluator_agrees_with_the_minute_by_minute_reference(ticket: Ticket, minutes: int) -> None:
    at = ticket.events[0].occurred_at + timedelta(minutes=minutes)
    state = evaluate(ticket.ticket_id, ticket.events, PLAN, PROPERTY_CALENDARS, at)
    compare(state, simulate(ticket, at), at)


@settings(max_examples=100, deadline=None)
@given(histories(max_events=12))
def test_reference_agrees_at_every_event_of_a_long_history(ticket: Ticket) -> None:
    for event in ticket.events:
        at = event.occurred_at
        state = evaluate(ticket.ticket_id, ticket.events, PLAN, PROPERTY_CALENDARS, at)
        compare(state, simulate(ticket, at), at)


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(0, 3 * 1440))
def test_reference_agrees_at_due_and_warning_instants(ticket: Ticket, minutes: int) -> None:
    # The boundaries are where off-by-one rules differ: at the instant, and a minute after.
    at = ticket.events[0].occurred_at + timedelta(minutes=minutes)
    state = evaluate(ticket.ticket_id, ticket.events, PLAN, PROPERTY_CALENDARS, at)
    instants = {i for c in state.clocks for i in (c.due_at, c.warn_at) if i is not None}
    # The reference steps whole minutes: a warning at 22.5 min is tried at 22 and 23.
    whole = {i.replace(second=0, microsecond=0) for i in instants}
    for instant in sorted(whole)[:4]:
        for when in (instant, instant + MINUTE):
            later = evaluate(ticket.ticket_id, ticket.events, PLAN, PROPERTY_CALENDARS, when)
            compare(later, simulate(ticket, when), when)
