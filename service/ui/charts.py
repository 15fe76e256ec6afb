"""The contract's allowance burn-down and a service's uptime per month, as SVG geometry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.allowances import AllowanceReport
from domain.contract_events import ContractEvent
from domain.contract_view import ContractView, TermView
from domain.uptime import MonthUptime
from domain.uptime_terms import UptimeTerms
from service.contracts import ContractReads

WIDTH, HEIGHT = 1000.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 50.0, 990.0, 10.0, 220.0
MAX_POINTS = 120  # a term with more work logs is drawn from an even sample of them


@dataclass(frozen=True)
class Point:
    at: datetime
    balance: float
    x: float
    y: float


@dataclass(frozen=True)
class BurnDown:
    allowance: AllowanceReport
    points: list[Point]
    ideal: tuple[Point, Point]  # the straight line from the grant to nothing at the term's end
    now_x: float

    @property
    def polyline(self) -> str:
        """A step line: the balance holds until the next work log, then drops."""
        coords: list[str] = []
        for before, after in zip(self.points, self.points[1:], strict=False):
            coords += [f"{before.x},{before.y}", f"{after.x},{before.y}"]
        last = self.points[-1]
        coords.append(f"{last.x},{last.y}")
        return " ".join(coords)


def _scale(term: TermView, top: float, bottom: float, at: datetime, value: float) -> Point:
    span = (term.end - term.start).total_seconds() or 1.0
    share = min(max((at - term.start).total_seconds() / span, 0.0), 1.0)
    height = (top - bottom) or 1.0
    y = TOP + (top - value) / height * (BOTTOM - TOP)
    return Point(at, value, round(LEFT + share * (RIGHT - LEFT), 2), round(y, 2))


def _instants(
    events: list[ContractEvent], allowance: str, term: TermView, at: datetime
) -> list[datetime]:
    found = sorted(
        {
            e.occurred_at
            for e in events
            if str(e.type) == "work_logged"
            and e.data.get("allowance") == allowance
            and term.start <= e.occurred_at < min(term.end, at)
        }
    )
    if len(found) > MAX_POINTS:
        step = len(found) / MAX_POINTS
        found = [found[int(i * step)] for i in range(MAX_POINTS)]
    return found


def burn_downs(
    contracts: ContractReads,
    view: ContractView,
    events: list[ContractEvent],
    known: datetime | None,
) -> list[BurnDown]:
    """Each allowance of the current term: its balance after every work log, against time."""
    term = view.term
    if term is None:
        return []
    charts = []
    for allowance in term.allowances:
        balances = [(term.start, float(allowance.granted))]
        for at in _instants(events, allowance.id, term, view.evaluated_at):
            then = contracts.read(view.contract_id, at, known).term
            report = (
                next((a for a in then.allowances if a.id == allowance.id), None) if then else None
            )
            if report is not None:
                balances.append((at, float(report.balance)))
        balances.append((min(view.evaluated_at, term.end), float(allowance.balance)))
        top = float(allowance.granted)
        bottom = min(0.0, *(b for _, b in balances))
        points = [_scale(term, top, bottom, at, value) for at, value in balances]
        ideal = (_scale(term, top, bottom, term.start, top), _scale(term, top, bottom, term.end, 0))
        now_x = _scale(term, top, bottom, view.evaluated_at, 0).x
        charts.append(BurnDown(allowance, points, ideal, now_x))
    return charts


@dataclass(frozen=True)
class UptimeBar:
    month: MonthUptime
    x: float
    width: float
    y: float  # top of the bar; the axis runs from FLOOR (bottom) to 100 % (top)
    credit_days: int | None


@dataclass(frozen=True)
class TierLine:
    below: float
    days: int
    y: float


@dataclass(frozen=True)
class UptimeChart:
    bars: list[UptimeBar]
    tiers: list[TierLine]
    floor: float


def _y(value: float, floor: float) -> float:
    share = (min(max(value, floor), 1.0) - floor) / (1.0 - floor)
    return round(BOTTOM - share * (BOTTOM - TOP), 2)


def uptime_chart(months: list[MonthUptime], terms: UptimeTerms | None) -> UptimeChart:
    """Bars of uptime per month over lines at each credit tier's threshold.

    The axis starts a little below the lowest tier or month, so the tiers
    (typically 99 % and 99.9 %) stay apart on screen.
    """
    tiers = list(terms.credits) if terms else []
    lowest = min([m.uptime for m in months] + [t.below for t in tiers] + [0.99])
    floor = max(0.0, 1.0 - (1.0 - lowest) * 1.25)
    slot = (RIGHT - LEFT) / max(len(months), 1)
    bars = [
        UptimeBar(
            m,
            round(LEFT + i * slot + slot * 0.1, 2),
            round(slot * 0.8, 2),
            _y(m.uptime, floor),
            None if m.credit is None else m.credit.tier.days,
        )
        for i, m in enumerate(months)
    ]
    lines = [TierLine(t.below, t.days, _y(t.below, floor)) for t in tiers]
    return UptimeChart(bars, lines, floor)
