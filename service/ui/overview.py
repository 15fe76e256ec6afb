"""The overview page: breached and at-risk clocks, and compliance per plan.

Every read is bounded whatever the size of the read model: the two listings
are keyset pages of ``LISTED`` rows off their indexes, and compliance is the
aggregate report (summary counters plus the indexed time-driven breaches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.business_time import DAY_US, to_us
from projections.reads.compliance import ComplianceQuery
from projections.reads.queries import BreachFilters, Page
from projections.service import ProjectionService

LISTED = 25
WINDOWS = {"7": 7, "30": 30, "90": 90, "all": None}
DEFAULT_WINDOW = "30"


@dataclass(frozen=True)
class Clocks:
    breached: Page
    at_risk: Page


@dataclass
class MetricCompliance:
    metric: str
    met: int = 0
    breached: int = 0
    pending: int = 0
    objective: float | None = None
    priorities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def attainment(self) -> float | None:
        decided = self.met + self.breached
        return self.met / decided if decided else None

    @property
    def objective_met(self) -> bool | None:
        attained = self.attainment
        if attained is None or self.objective is None:
            return None
        return attained >= self.objective


@dataclass(frozen=True)
class PlanCompliance:
    plan: str
    metrics: list[MetricCompliance]


def clocks(projections: ProjectionService) -> Clocks:
    reader = projections.reader
    breached = reader.breaches(BreachFilters("breached", open_only=True), LISTED, None)
    at_risk = reader.breaches(BreachFilters("at_risk"), LISTED, None)
    return Clocks(breached, at_risk)


def window_start(window: str, now: datetime) -> datetime | None:
    """The opening instant the report starts from: whole UTC days, so the summary serves it."""
    days = WINDOWS[window]
    if days is None:
        return None
    first_day = to_us(now - timedelta(days=days)) // DAY_US
    return now.fromtimestamp(first_day * DAY_US / 1_000_000, tz=now.tzinfo)


Compliance = tuple[datetime | None, list[PlanCompliance], datetime]


def compliance(projections: ProjectionService, window: str) -> Compliance:
    """Since when, each plan's figures per metric, and the instant breaches were decided at."""
    since = window_start(window, projections.current_time())
    query = ComplianceQuery(from_us=None if since is None else to_us(since))
    groups, evaluated_at = projections.compliance(query)
    plans: dict[str, dict[str, MetricCompliance]] = {}
    for group in groups:
        metrics = plans.setdefault(group["plan"], {})
        total = metrics.setdefault(group["metric"], MetricCompliance(group["metric"]))
        total.met += group["met"]
        total.breached += group["breached"]
        total.pending += group["pending"]
        total.objective = group["objective"]
        total.priorities.append(group)
    found = [PlanCompliance(plan, list(metrics.values())) for plan, metrics in plans.items()]
    return since, found, evaluated_at
