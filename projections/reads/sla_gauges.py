"""SLA figures for /metrics, per plan, priority and metric, decided at the scrape instant.

Breached and at-risk clocks are counted exactly as ``GET /v1/breaches?open_only=true``
lists them (``state=breached`` and ``state=at_risk``), decided at the same ``now``: a
running clock whose due instant passed since its ticket's last event counts as
breached without any new event. Outcomes and attainment are the all-time compliance
report's, time-driven breaches included.

Counting breached clocks row by row costs as many rows as there are breaches
(over a second with 1,000,000 clocks, ``benchmarks/sla_gauges.py``). Instead the
compliance summary keeps, as events arrive, how many clocks of open tickets have a
breach instant and how many running clocks have a due instant; a scrape subtracts
the clocks whose instant is still ahead of "now", read through the ``breach`` and
``due`` indexes. Those are the running clocks not yet due: about as many as the
at-risk listing reads, however many breaches there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, case, func, select

from projections.reads.compliance import Group, objectives
from projections.rows import OPEN_STATUSES
from projections.schema import Tables


@dataclass(frozen=True)
class Attainment:
    met: int
    breached: int
    objective: float | None

    @property
    def ratio(self) -> float | None:
        decided = self.met + self.breached
        return self.met / decided if decided else None


@dataclass(frozen=True)
class SlaFigures:
    """Counts by (plan, priority, metric); attainment by (plan, metric)."""

    breached: dict[Group, int] = field(default_factory=dict)
    at_risk: dict[Group, int] = field(default_factory=dict)
    # met, breached, pending
    outcomes: dict[Group, tuple[int, int, int]] = field(default_factory=dict)
    attainment: dict[tuple[str, str], Attainment] = field(default_factory=dict)

    @property
    def groups(self) -> list[Group]:
        """Every group with a clock: each gauge has a sample (0 if need be) for each."""
        return sorted(set(self.outcomes) | set(self.breached) | set(self.at_risk))


def sla_figures(conn: Connection, tables: Tables, now_us: int) -> SlaFigures:
    totals = _totals(conn, tables)
    not_breached = _breach_ahead(conn, tables, now_us)
    not_due, at_risk = _running_ahead(conn, tables, now_us)
    breached: dict[Group, int] = {}
    outcomes: dict[Group, tuple[int, int, int]] = {}
    for key, (met, late, pending, open_breach, running) in totals.items():
        overdue = running - not_due.get(key, 0)  # pending when evaluated, breached now
        outcomes[key] = (met, late + overdue, pending - overdue)
        breached[key] = open_breach - not_breached.get(key, 0)
    goals = objectives(conn, tables, {plan for plan, _, _ in outcomes}, now_us)
    return SlaFigures(breached, at_risk, outcomes, _attainment(outcomes, goals))


def _group(plan: str, priority: str | None, metric: str) -> Group:
    return plan, priority or "", metric


def _totals(conn: Connection, tables: Tables) -> dict[Group, list[int]]:
    s = tables.compliance
    sums = [func.sum(s.c[n]) for n in ("met", "breached", "pending", "open_breach", "running")]
    q = select(s.c.plan, s.c.priority, s.c.metric, *sums)
    q = q.group_by(s.c.plan, s.c.priority, s.c.metric)
    return {_group(*row[:3]): [int(n) for n in row[3:]] for row in conn.execute(q)}


def _breach_ahead(conn: Connection, tables: Tables, now_us: int) -> dict[Group, int]:
    """Clocks of open tickets that breach only after ``now`` (``state=breached`` negated).

    Counted in the two partial indexes that hold them: running clocks by their due
    instant, and breaches recorded at an instant after ``now``.
    """
    c = tables.clocks
    ahead: dict[Group, int] = {}
    for terms in (
        (c.c.running_due_us > now_us,),
        (c.c.breached_at_us.is_not(None), c.c.breach_from_us > now_us),
    ):
        q = select(c.c.plan, c.c.priority, c.c.metric, func.count())
        q = q.where(*terms, c.c.status.in_(OPEN_STATUSES))
        for p, pr, m, n in conn.execute(q.group_by(c.c.plan, c.c.priority, c.c.metric)):
            key = _group(p, pr, m)
            ahead[key] = ahead.get(key, 0) + int(n)
    return ahead


def _running_ahead(
    conn: Connection, tables: Tables, now_us: int
) -> tuple[dict[Group, int], dict[Group, int]]:
    """Running clocks not yet due; and those of them at risk (``state=at_risk``, open)."""
    c = tables.clocks
    risky = case((c.c.warn_at_us <= now_us, 1), else_=0)
    risky = case((c.c.status.in_(OPEN_STATUSES), risky), else_=0)
    q = select(c.c.plan, c.c.priority, c.c.metric, func.count(), func.sum(risky))
    q = q.where(c.c.running_due_us > now_us).group_by(c.c.plan, c.c.priority, c.c.metric)
    not_due: dict[Group, int] = {}
    at_risk: dict[Group, int] = {}
    for plan, priority, metric, n, risk in conn.execute(q):
        key = _group(plan, priority, metric)
        not_due[key], at_risk[key] = int(n), int(risk or 0)
    return not_due, at_risk


def _attainment(
    outcomes: dict[Group, tuple[int, int, int]], goals: dict[tuple[str, str], float | None]
) -> dict[tuple[str, str], Attainment]:
    """Summed over priorities (an objective is the plan's, per metric)."""
    found: dict[tuple[str, str], Attainment] = {}
    for (plan, _, metric), (met, breached, _) in outcomes.items():
        seen = found.get((plan, metric), Attainment(0, 0, goals.get((plan, metric))))
        found[(plan, metric)] = Attainment(seen.met + met, seen.breached + breached, seen.objective)
    return found
