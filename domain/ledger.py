"""One metric's ledger while a ticket's events are replayed: accrual, pauses, stops, targets.

A ledger is a sequence of stretches, each begun by an event and lasting until
the next event that concerns the metric: running (business time accrues on
the stretch's calendar), paused, or stopped. Nothing is stepped minute by
minute: a running stretch costs one ``business_us`` call when it ends, and the
due and warning instants are one ``add_us`` each from the current stretch's
start. All arithmetic is on integer epoch microseconds, so comparisons are exact.
A due or warning instant the calendar does not reach before the horizon of
accepted instants (``business_time.HORIZON_US``) is None: the clock cannot be
breached (or at risk) within the range slaclock evaluates.

A contract's suspension is a flag beside the state: a running stretch under
it accrues nothing (it is counted as suspended business time instead), and
no breach is decided while it lasts.

Every metric of the policy has a ledger from the opening, even while no
priority the ticket has held gives it a target: a clock that appears with a
raise then counts from the opening, on the calendars the ticket was on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from domain.business_time import US, CalendarTimeline, from_us
from domain.clock_model import Clock, ClockFigures, ClockState, Outcome, Segment, SegmentKind
from domain.policy import WORKING_DAYS, Target

Timelines = Callable[[str], CalendarTimeline]


@dataclass(frozen=True, slots=True)
class Stretch:
    """A closed stretch of the ledger, kept only when segments are asked for."""

    start: int
    end: int
    state: ClockState
    calendar: str
    event_id: str
    suspended: bool = False  # a running stretch that the contract's suspension held


class MetricLedger:
    """The mutable state of one metric during a replay (see the module docstring)."""

    def __init__(
        self,
        metric: str,
        pauses: bool,
        warning_fraction: float,
        timelines: Timelines,
        keep_stretches: bool,
    ) -> None:
        self.metric = metric
        self.pauses = pauses
        self._fraction = warning_fraction
        self._timelines = timelines
        self._history: list[Stretch] | None = [] if keep_stretches else None
        self.state = ClockState.RUNNING
        self.suspended = False  # the contract's SLA is suspended (see suspend())
        self.suspended_us = 0  # business µs held by suspensions up to the current stretch
        self._held_once = False  # a suspension has held it (a closed stretch)
        self.outcome = Outcome.PENDING
        self.priority = ""
        self.calendar = ""
        self.timeline: CalendarTimeline  # set by open()
        self._memo = (0, 0, "", 0)  # (start, at, calendar, business µs): asked twice per event
        self.opened = self.start = 0  # µs: the opening, and the current stretch's start
        self.event_id = ""  # the event that began the current stretch
        self.accrued = 0  # business µs up to the current stretch's start
        self.target: int | None = None  # business µs
        self._warn = 0  # business µs at which the metric is at risk
        self._warned_at: int | None = None  # when that was reached, once it is in the past
        self.breached_at: int | None = None
        self.stopped_at: int | None = None

    # --- the events ---------------------------------------------------------------

    def open(
        self, at: int, event_id: str, priority: str, target: Target | None, calendar: str
    ) -> None:
        self.opened = self.start = at
        self.event_id = event_id
        self.priority = priority
        self._use_calendar(calendar)
        if target is not None:
            self._apply_target(at, target)

    def pause(self, at: int, event_id: str) -> None:
        if self.state is ClockState.RUNNING and self.pauses:
            self.check_breach(at)
            self._begin(at, ClockState.PAUSED, event_id)

    def resume(self, at: int, event_id: str) -> None:
        if self.state is ClockState.PAUSED:
            self._begin(at, ClockState.RUNNING, event_id)

    def stop(self, at: int, event_id: str) -> None:
        """A stop event: met unless already breached (a running clock is checked first)."""
        if self.state is ClockState.STOPPED:
            return
        self.check_breach(at)
        self._begin(at, ClockState.STOPPED, event_id)
        self.stopped_at = at
        if self.target is not None and self.outcome is Outcome.PENDING:
            self.outcome = Outcome.MET

    def restart(self, at: int, event_id: str) -> None:
        """``reopened``: run again, keeping the accrued time; a met outcome is undecided again."""
        if self.state is not ClockState.STOPPED:
            return
        self._begin(at, ClockState.RUNNING, event_id)
        self.stopped_at = None
        if self.outcome is Outcome.MET:
            self.outcome = Outcome.PENDING

    def suspend(self, at: int, event_id: str) -> None:
        """The contract's SLA is suspended from ``at``: a running clock stops counting."""
        if self.suspended:
            return
        if self.state is ClockState.RUNNING:
            self.check_breach(at)
            self._begin(at, ClockState.RUNNING, event_id, suspended=True)
        else:
            self.suspended = True  # paused or stopped: nothing was counting anyway

    def reinstate(self, at: int, event_id: str) -> None:
        """The SLA is in force again; a target the suspension held back breaches now."""
        if not self.suspended:
            return
        if self.state is ClockState.RUNNING:
            self._begin(at, ClockState.RUNNING, event_id, suspended=False)
        else:
            self.suspended = False
        if self.state is not ClockState.STOPPED:
            self._breach_if_over(at)

    def change_priority(
        self, at: int, event_id: str, priority: str, target: Target | None, calendar: str
    ) -> None:
        """Take a new priority's target (and calendar) from ``at``; a stopped metric is left be.

        A priority that gives the metric no target leaves its target and its
        calendar as they were: the two belong together ("2 working days" means
        office days, not 48 hours of a round-the-clock calendar).
        """
        if self.state is ClockState.STOPPED:
            return
        self.check_breach(at)
        self._begin(at, self.state, event_id)
        self.priority = priority
        if target is None and self.target is not None:
            return
        self._use_calendar(calendar)
        if target is not None:
            self._apply_target(at, target)

    # --- the rules ----------------------------------------------------------------

    def _use_calendar(self, calendar: str) -> None:
        if calendar != self.calendar:
            self.calendar = calendar
            self.timeline = self._timelines(calendar)

    def _apply_target(self, at: int, target: Target) -> None:
        """A target applies from ``at``; time already accrued beyond it is a breach at ``at``.

        Working days convert with the calendar version in effect at ``at``.
        """
        hours = 0.0
        if target.unit == WORKING_DAYS:
            hours = self.timeline.hours_per_working_day_at_us(at)
        goal, warn = thresholds(target, hours, self._fraction)
        if warn != self._warn or self._warned_at is None:
            # A threshold already passed counts as reached when the target applied.
            self._warned_at = at if self.accrued >= warn else None
        self._warn, self.target = warn, goal
        if not self.suspended:  # a suspended metric breaches, if still over, on reinstatement
            self._breach_if_over(at)

    def _breach_if_over(self, at: int) -> None:
        if self.target is None or self.outcome is Outcome.BREACHED:
            return
        if self.accrued > self.target:
            self.outcome, self.breached_at = Outcome.BREACHED, at

    def accrued_at(self, at: int) -> int:
        if self.state is not ClockState.RUNNING or self.suspended:
            return self.accrued
        start, calendar = self.start, self.calendar
        memo = self._memo
        if memo[0] != start or memo[1] != at or memo[2] != calendar:
            memo = (start, at, calendar, self.timeline.business_us(start, at))
            self._memo = memo
        return self.accrued + memo[3]

    def due(self) -> int | None:
        """When the current running stretch uses the target up (never before it began);
        None when that is beyond the horizon."""
        assert self.target is not None
        return self.timeline.add_us(self.start, max(0, self.target - self.accrued))

    def warn_at(self) -> int | None:
        if self._warned_at is not None:
            return self._warned_at
        return self.timeline.add_us(self.start, self._warn - self.accrued)

    def check_breach(self, at: int) -> None:
        """A running clock is breached at its due instant once ``at`` is past it."""
        if self.state is not ClockState.RUNNING or self.suspended or self.target is None:
            return
        if self.outcome is Outcome.BREACHED:
            return
        accrued = self.accrued_at(at)
        # Equal is not enough: a target used up at a close is due then, and a stop
        # while the calendar stays closed is still after that due instant.
        if accrued < self.target:
            return
        due = self.due()
        if accrued > self.target or (due is not None and at > due):
            # Accrued past the target by ``at``: the due instant is at or before it.
            self.outcome, self.breached_at = Outcome.BREACHED, at if due is None else due

    def _begin(
        self, at: int, state: ClockState, event_id: str, suspended: bool | None = None
    ) -> None:
        """End the current stretch at ``at`` (counting its business time) and begin another."""
        held = self.state is ClockState.RUNNING and self.suspended
        if held:
            self.suspended_us += self.timeline.business_us(self.start, at)
            self._held_once = self._held_once or at > self.start
        elif self.state is ClockState.RUNNING:
            before = self.accrued
            self.accrued = self.accrued_at(at)
            if self._warned_at is None and before < self._warn <= self.accrued:
                self._warned_at = self.timeline.add_us(self.start, self._warn - before)
        if self._history is not None and at > self.start:
            self._history.append(
                Stretch(self.start, at, self.state, self.calendar, self.event_id, held)
            )
        self.start, self.state, self.event_id = at, state, event_id
        if suspended is not None:
            self.suspended = suspended

    # --- the answer ---------------------------------------------------------------

    def figures(self, at: int) -> ClockFigures | None:
        """The clock as of ``at`` (no event after it), or None while it has no target."""
        if self.target is None:
            return None
        self.check_breach(at)
        held = self.state is ClockState.RUNNING and self.suspended
        running = self.state is ClockState.RUNNING and not held
        breached = self.outcome is Outcome.BREACHED
        warn_at = self.warn_at() if running else None
        due_at = (self.breached_at if breached else self.due()) if running else None
        return ClockFigures(
            self.metric,
            self.calendar,
            ClockState.PAUSED if held else self.state,
            self.outcome,
            running and not breached and warn_at is not None and at > warn_at,
            self.target // US,
            self.accrued_at(at) // US,
            self.opened,
            due_at,
            warn_at,
            self.stopped_at,
            self.breached_at,
            self._suspended_us(at, held) // US,
            held or self._held_once,
        )

    def _suspended_us(self, at: int, held: bool) -> int:
        if not held or at <= self.start:
            return self.suspended_us
        return self.suspended_us + self.timeline.business_us(self.start, at)

    def clock(self, at: int) -> Clock | None:
        """``figures`` as datetimes, with the segments when they are kept."""
        figures = self.figures(at)
        if figures is None:
            return None
        return Clock(
            metric=figures.metric,
            calendar=figures.calendar,
            state=figures.state,
            outcome=figures.outcome,
            at_risk=figures.at_risk,
            target_seconds=figures.target_seconds,
            elapsed_seconds=figures.elapsed_seconds,
            remaining_seconds=figures.target_seconds - figures.elapsed_seconds,
            started_at=from_us(figures.started_us),
            due_at=_instant(figures.due_us),
            warn_at=_instant(figures.warn_us),
            stopped_at=_instant(figures.stopped_us),
            breached_at=_instant(figures.breached_us),
            segments=self._segments(at),
            suspended_seconds=figures.suspended_seconds,
        )

    def _segments(self, at: int) -> tuple[Segment, ...]:
        if self._history is None:
            return ()
        stretches = list(self._history)
        if at > self.start:
            held = self.state is ClockState.RUNNING and self.suspended
            stretches.append(
                Stretch(self.start, at, self.state, self.calendar, self.event_id, held)
            )
        return tuple(_SegmentWriter(self._timelines).write(stretches))


@lru_cache(maxsize=4096)
def thresholds(target: Target, hours_per_day: float, fraction: float) -> tuple[int, int]:
    """The target and its warning threshold in business µs, both whole seconds (truncated)."""
    seconds = target.seconds(hours_per_day)
    return seconds * US, math.floor(round(fraction * seconds, 6)) * US


class _SegmentWriter:
    """Turns stretches into segments; seconds are differences of the truncated running
    total, so that they add up to the clock's (truncated) elapsed seconds exactly."""

    def __init__(self, timelines: Timelines) -> None:
        self._timelines = timelines
        self._total = 0
        self._segments: list[Segment] = []

    def write(self, stretches: list[Stretch]) -> list[Segment]:
        for stretch in stretches:
            if stretch.suspended:
                self._add(stretch, stretch.start, stretch.end, SegmentKind.SUSPENDED, 0)
            elif stretch.state is ClockState.RUNNING:
                self._running(stretch)
            else:
                kind = SegmentKind(stretch.state.value)
                self._add(stretch, stretch.start, stretch.end, kind, 0)
        return self._segments

    def _running(self, stretch: Stretch) -> None:
        timeline = self._timelines(stretch.calendar)
        for start, end, is_open in timeline.stretches_us(stretch.start, stretch.end):
            kind = SegmentKind.RUNNING if is_open else SegmentKind.OUTSIDE_HOURS
            self._add(stretch, start, end, kind, end - start if is_open else 0)

    def _add(self, stretch: Stretch, start: int, end: int, kind: SegmentKind, us: int) -> None:
        before = self._total // US
        self._total += us
        seconds = self._total // US - before
        self._segments.append(
            Segment(from_us(start), from_us(end), kind, seconds, stretch.calendar, stretch.event_id)
        )


def _instant(instant_us: int | None) -> datetime | None:
    return None if instant_us is None else from_us(instant_us)
