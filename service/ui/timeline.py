"""A ticket's clocks as timelines: the segment ledger, marks and event ticks placed on one axis.

Every clock of the ticket shares the same window, so a tick or a mark at one
instant sits at the same x in every drawing. x is proportional to time:
``X0 + (t - start) / (end - start) * (X1 - X0)`` in the SVG's own units.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.clocks import Clock, TicketState
from domain.events import TicketEvent

X0, X1 = 10.0, 990.0  # the drawable band of a viewBox 1000 units wide


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def x(self, at: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        share = (at - self.start).total_seconds() / span if span > 0 else 0.0
        return round(X0 + min(max(share, 0.0), 1.0) * (X1 - X0), 3)


@dataclass(frozen=True)
class Stretch:
    kind: str
    start: datetime
    end: datetime
    seconds: int
    x: float
    width: float


@dataclass(frozen=True)
class Mark:
    kind: str  # warn, due or breach
    at: datetime
    x: float


@dataclass(frozen=True)
class Tick:
    label: str
    event_id: str
    at: datetime
    x: float


@dataclass(frozen=True)
class ClockDrawing:
    clock: Clock
    stretches: list[Stretch]
    marks: list[Mark]


@dataclass(frozen=True)
class TicketTimeline:
    ticket: TicketState
    window: Window
    clocks: list[ClockDrawing]
    ticks: list[Tick]
    x0: float = X0
    x1: float = X1


def _window(state: TicketState, events: Sequence[TicketEvent]) -> Window:
    starts: list[datetime] = [state.opened_at, *(e.occurred_at for e in events)]
    ends: list[datetime] = [state.evaluated_at]
    for clock in state.clocks:
        starts += [s.start for s in clock.segments]
        ends += [s.end for s in clock.segments]
        ends += [at for at in (clock.due_at, clock.breached_at) if at is not None]
    start, end = min(starts), max(ends)
    if end <= start:  # nothing has elapsed yet: a minute's window keeps x defined
        end = start + timedelta(minutes=1)
    return Window(start, end)


def _marks(clock: Clock, window: Window) -> list[Mark]:
    found = (("warn", clock.warn_at), ("due", clock.due_at), ("breach", clock.breached_at))
    return [Mark(kind, at, window.x(at)) for kind, at in found if at is not None]


def _drawing(clock: Clock, window: Window) -> ClockDrawing:
    stretches = []
    for segment in clock.segments:
        x = window.x(segment.start)
        width = round(window.x(segment.end) - x, 3)
        stretches.append(
            Stretch(str(segment.kind), segment.start, segment.end, segment.seconds, x, width)
        )
    return ClockDrawing(clock, stretches, _marks(clock, window))


def ticket_timeline(state: TicketState, events: Iterable[TicketEvent]) -> TicketTimeline:
    """The drawing of ``state`` (evaluated with segments); events after its instant are left out."""
    shown = [e for e in events if e.occurred_at <= state.evaluated_at]
    window = _window(state, shown)
    ticks = [Tick(str(e.type), e.event_id, e.occurred_at, window.x(e.occurred_at)) for e in shown]
    return TicketTimeline(state, window, [_drawing(c, window) for c in state.clocks], ticks)
