"""SLA figures for /metrics, aggregated per plan, priority and metric at the scrape instant.

Breached and at-risk clocks are counted exactly as ``GET /v1/breaches?open_only=true``
lists them (``state=breached`` and ``state=at_risk``), decided at the same ``now``: a
running clock whose due instant passed since its ticket's last event counts as
breached without any new event. Attainment is the all-time compliance report's.

Every figure is one grouped SQL aggregate over indexed columns, so the answer
has one row per plan, priority and metric (a handful) and never one per ticket;
the cost was measured with 1,000,000 clocks (``benchmarks/sla_gauges.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from projections.compliance import ComplianceQuery, Group, report
from projections.queries import OPEN_STATUSES
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
    groups = report(conn, tables, ComplianceQuery(), now_us)
    return SlaFigures(
        breached=_open_breached(conn, tables, now_us),
        at_risk=_open_at_risk(conn, tables, now_us),
        outcomes={_key(g): (g["met"], g["breached"], g["pending"]) for g in groups},
        attainment=_attainment(groups),
    )


def _key(group: dict[str, Any]) -> Group:
    return group["plan"], group["priority"], group["metric"]


def _counted(conn: Connection, q: Any) -> dict[Group, int]:
    return {(plan, priority or "", metric): int(n) for plan, priority, metric, n in conn.execute(q)}


def _grouped(tables: Tables) -> Any:
    c = tables.clocks
    q = select(c.c.plan, c.c.priority, c.c.metric, func.count())
    q = q.where(c.c.status.in_(OPEN_STATUSES))
    return q.group_by(c.c.plan, c.c.priority, c.c.metric)


def _open_breached(conn: Connection, tables: Tables, now_us: int) -> dict[Group, int]:
    """``state=breached``: breached at an event, or running past its due instant."""
    return _counted(conn, _grouped(tables).where(tables.clocks.c.breach_from_us <= now_us))


def _open_at_risk(conn: Connection, tables: Tables, now_us: int) -> dict[Group, int]:
    """``state=at_risk``: running, not yet due, past its warning instant."""
    c = tables.clocks
    q = _grouped(tables).where(c.c.running_due_us > now_us, c.c.warn_at_us <= now_us)
    return _counted(conn, q)


def _attainment(groups: list[dict[str, Any]]) -> dict[tuple[str, str], Attainment]:
    """The report's groups summed over priorities (an objective is the plan's, per metric)."""
    found: dict[tuple[str, str], Attainment] = {}
    for g in groups:
        key = (g["plan"], g["metric"])
        seen = found.get(key, Attainment(0, 0, g["objective"]))
        found[key] = Attainment(seen.met + g["met"], seen.breached + g["breached"], seen.objective)
    return found
