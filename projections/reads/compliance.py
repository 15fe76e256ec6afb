"""GET /v1/reports/compliance: met, breached and pending per plan, priority and metric.

``suspended`` counts the clocks a contract's suspension held at some point;
each of them is also counted as met, breached or pending.

Whole UTC days of the ``opened_at`` range come from the summary table (counts
kept per plan, priority, metric and opening day); only the partial days at
the edges, and clocks that have passed their due instant since their last
event (time-driven breaches, found through the ``running_due`` index), are
read clock by clock. A report filtered by customer reads that customer's
clocks (indexed by customer and opening). No report scans every ticket.

Objectives come from the plan's policy version in effect at the report's
instant (the newest version when none is yet in effect).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select

from domain.business_time import DAY_US, from_us
from domain.policy import parse_policy
from domain.versions import Version, in_effect_at
from projections.schema import Tables

Group = tuple[str, str, str]  # plan, priority, metric
_MET, _BREACHED, _PENDING, _SUSPENDED = 0, 1, 2, 3


@dataclass(frozen=True)
class ComplianceQuery:
    from_us: int | None = None  # inclusive
    to_us: int | None = None  # exclusive
    plan: str | None = None
    priority: str | None = None
    customer: str | None = None
    metric: str | None = None


def report(conn: Connection, tables: Tables, query: ComplianceQuery, now_us: int) -> list[Any]:
    counts: dict[Group, list[int]] = {}
    for part in _parts(conn, tables, query, now_us):
        _add(counts, part)
    found = objectives(conn, tables, {plan for plan, _, _ in counts}, now_us)
    return [_group(key, value, found) for key, value in sorted(counts.items())]


def _parts(
    conn: Connection, tables: Tables, query: ComplianceQuery, now_us: int
) -> list[list[tuple[Group, list[int]]]]:
    """Whole days from the summary (plus time-driven breaches), the edges clock by clock."""
    lo, hi = query.from_us, query.to_us
    first = None if lo is None else -(-lo // DAY_US)  # first whole day inside the range
    last = None if hi is None else hi // DAY_US  # the day the range ends in
    whole_days = first is None or last is None or first < last
    if query.customer is not None or not whole_days:
        return [_from_clocks(conn, tables, query, lo=lo, hi=hi, now_us=now_us)]
    parts = [
        _from_summary(conn, tables, query, first, last),
        _overdue(conn, tables, query, first=first, last=last, now_us=now_us),
    ]
    if lo is not None and first is not None and lo < first * DAY_US:
        parts.append(_from_clocks(conn, tables, query, lo=lo, hi=first * DAY_US, now_us=now_us))
    if hi is not None and last is not None and last * DAY_US < hi:
        parts.append(_from_clocks(conn, tables, query, lo=last * DAY_US, hi=hi, now_us=now_us))
    return parts


def _add(counts: dict[Group, list[int]], rows: Iterable[tuple[Group, list[int]]]) -> None:
    for key, delta in rows:
        total = counts.setdefault(key, [0, 0, 0, 0])
        for i in range(4):
            total[i] += delta[i]


def _filtered(q: Any, table: Any, query: ComplianceQuery) -> Any:
    for name in ("plan", "priority", "metric", "customer"):
        value = getattr(query, name)
        if value is not None and name in table.c:
            q = q.where(table.c[name] == value)
    return q


def _from_summary(
    conn: Connection, tables: Tables, query: ComplianceQuery, first: int | None, last: int | None
) -> list[tuple[Group, list[int]]]:
    s = tables.compliance
    q = select(
        s.c.plan,
        s.c.priority,
        s.c.metric,
        func.sum(s.c.met),
        func.sum(s.c.breached),
        func.sum(s.c.pending),
        func.sum(s.c.suspended),
    ).group_by(s.c.plan, s.c.priority, s.c.metric)
    if first is not None:
        q = q.where(s.c.opened_day >= first)
    if last is not None:
        q = q.where(s.c.opened_day < last)
    q = _filtered(q, s, query)
    return [
        ((p, pr, m), [int(a), int(b), int(c), int(d)]) for p, pr, m, a, b, c, d in conn.execute(q)
    ]


def _overdue(
    conn: Connection,
    tables: Tables,
    query: ComplianceQuery,
    *,
    first: int | None,
    last: int | None,
    now_us: int,
) -> list[tuple[Group, list[int]]]:
    """Clocks the summary counts as pending that have passed their due instant since."""
    c = tables.clocks
    q = select(c.c.plan, c.c.priority, c.c.metric, func.count()).where(c.c.running_due_us <= now_us)
    if first is not None:
        q = q.where(c.c.opened_at_us >= first * DAY_US)
    if last is not None:
        q = q.where(c.c.opened_at_us < last * DAY_US)
    q = _filtered(q, c, query).group_by(c.c.plan, c.c.priority, c.c.metric)
    return [((p, pr or "", m), [0, n, -n, 0]) for p, pr, m, n in conn.execute(q)]


def _from_clocks(
    conn: Connection,
    tables: Tables,
    query: ComplianceQuery,
    *,
    lo: int | None,
    hi: int | None,
    now_us: int,
) -> list[tuple[Group, list[int]]]:
    """Counts straight from clock rows opened in [lo, hi), decided at ``now_us``."""
    c = tables.clocks
    overdue = case((c.c.running_due_us <= now_us, 1), else_=0)
    held = func.sum(c.c.suspended)
    q = select(c.c.plan, c.c.priority, c.c.metric, c.c.outcome, overdue, func.count(), held)
    if lo is not None:
        q = q.where(c.c.opened_at_us >= lo)
    if hi is not None:
        q = q.where(c.c.opened_at_us < hi)
    q = _filtered(q, c, query).group_by(c.c.plan, c.c.priority, c.c.metric, c.c.outcome, overdue)
    found = []
    for plan, priority, metric, outcome, late, n, suspended in conn.execute(q):
        index = _BREACHED if late else {"met": _MET, "breached": _BREACHED}.get(outcome, _PENDING)
        delta = [0, 0, 0, int(suspended or 0)]
        delta[index] = int(n)
        found.append(((plan, priority or "", metric), delta))
    return found


def objectives(
    conn: Connection, tables: Tables, plans: set[str], now_us: int
) -> dict[tuple[str, str], float | None]:
    p = tables.policies
    versions: dict[str, list[Version[dict[str, Any]]]] = {}
    for plan, number, start, recorded, document in conn.execute(
        select(p.c.plan_id, p.c.version, p.c.effective_from_us, p.c.recorded_at_us, p.c.document)
    ):
        if plan in plans:
            begins = None if start is None else from_us(start)
            versions.setdefault(plan, []).append(
                Version(number, begins, from_us(recorded), json.loads(document))
            )
    objectives: dict[tuple[str, str], float | None] = {}
    for plan, known in versions.items():
        chosen = in_effect_at(known, from_us(now_us)) or max(known, key=lambda v: v.number)
        policy = parse_policy(chosen.value)
        for name, metric in policy.metrics.items():
            objectives[(plan, name)] = metric.objective
    return objectives


def _group(
    key: Group, counts: list[int], objectives: dict[tuple[str, str], float | None]
) -> dict[str, Any]:
    plan, priority, metric = key
    met, breached, pending, suspended = counts
    decided = met + breached
    attainment = met / decided if decided else None
    objective = objectives.get((plan, metric))
    objective_met = None
    if attainment is not None and objective is not None:
        objective_met = attainment >= objective
    return {
        "plan": plan,
        "priority": priority,
        "metric": metric,
        "met": met,
        "breached": breached,
        "pending": pending,
        "suspended": suspended,
        "attainment": attainment,
        "objective": objective,
        "objective_met": objective_met,
    }
