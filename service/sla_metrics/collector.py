"""A prometheus-client collector reading the SLA figures from the read models at scrape time.

Computed on each scrape rather than kept incrementally: time alone turns a
running clock breached or at risk, so counts kept as events arrive would need
a sweep to stay right, while the grouped aggregates cost milliseconds even with
1,000,000 clocks (docs/operations.md quotes ``benchmarks/sla_gauges.py``).
Labels are plan, priority and metric only (never ticket or customer): the
catalog bounds them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from projections.reads.sla_gauges import SlaFigures

log = logging.getLogger(__name__)
GROUP = ("plan", "priority", "metric")
OUTCOMES = ("met", "breached", "pending")


def _families() -> tuple[GaugeMetricFamily, ...]:
    return (
        GaugeMetricFamily(
            "slaclock_sla_breached_clocks",
            "Clocks of open tickets breached now, running ones past due included"
            " (GET /v1/breaches?open_only=true).",
            labels=GROUP,
        ),
        GaugeMetricFamily(
            "slaclock_sla_at_risk_clocks",
            "Clocks of open tickets past their warning instant and not yet due"
            " (GET /v1/breaches?state=at_risk&open_only=true).",
            labels=GROUP,
        ),
        GaugeMetricFamily(
            "slaclock_sla_clocks",
            "Clocks by outcome now, all tickets ever opened (the compliance report).",
            labels=(*GROUP, "outcome"),
        ),
        GaugeMetricFamily(
            "slaclock_sla_attainment_ratio",
            "met / (met + breached) over all priorities; absent while nothing is decided.",
            labels=("plan", "metric"),
        ),
        GaugeMetricFamily(
            "slaclock_sla_objective_ratio",
            "The attainment the plan's policy in effect promises for the metric.",
            labels=("plan", "metric"),
        ),
    )


def families(figures: SlaFigures) -> tuple[GaugeMetricFamily, ...]:
    breached, at_risk, outcomes, attainment, objective = _families()
    for group in figures.groups:
        breached.add_metric(group, figures.breached.get(group, 0))
        at_risk.add_metric(group, figures.at_risk.get(group, 0))
        for outcome, count in zip(OUTCOMES, figures.outcomes.get(group, (0, 0, 0)), strict=True):
            outcomes.add_metric((*group, outcome), count)
    for (plan, metric), figure in sorted(figures.attainment.items()):
        if figure.ratio is not None:
            attainment.add_metric((plan, metric), figure.ratio)
        if figure.objective is not None:
            objective.add_metric((plan, metric), figure.objective)
    return breached, at_risk, outcomes, attainment, objective


class SlaCollector:
    def __init__(self, read: Callable[[], SlaFigures]) -> None:
        self._read = read

    def describe(self) -> tuple[Metric, ...]:
        """The families without samples, so registering reads nothing from the database."""
        return (*_families(), _up(False), _duration(0.0))

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        try:
            figures = self._read()
        except SQLAlchemyError as error:
            # E.g. read models made by an older release, before `slaclock rebuild`: the
            # other series still answer; the log says why these are missing.
            kind = type(error).__name__
            log.warning("SLA gauges: reading the figures failed: %s: %s", kind, error)
            yield _up(False)
            return
        yield from families(figures)
        yield _up(True)
        yield _duration(time.perf_counter() - started)


def _up(read: bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "slaclock_sla_gauges_up",
        "1 when this scrape read the SLA figures; 0 when the read failed (see the log).",
        value=int(read),
    )


def _duration(seconds: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "slaclock_sla_gauges_seconds",
        "Time this scrape took to read the SLA figures from the database.",
        value=round(seconds, 6),
    )


def render(read: Callable[[], SlaFigures]) -> str:
    """The SLA gauges in the text exposition format, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SlaCollector(read))
    return generate_latest(registry).decode()
