"""HTTP and process metrics from prometheus-client, in a registry private to one app.

Built by ``create_app`` (never at import time), so two apps in one process,
as the tests make, never share or double-register a metric. ``/metrics``
renders this registry after slaclock's own hand-written ``slaclock_*`` lines.
"""

from __future__ import annotations

import platform

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
"""The route label of a request no route took: raw paths would make labels unbounded."""

# Ingest answers in milliseconds, reads of large reports in seconds.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        build = Info("slaclock_build", "The running slaclock build.", registry=self.registry)
        build.info({"version": version, "python": platform.python_version()})
        labels = ("method", "route", "status")
        self.requests = Counter(
            "slaclock_http_requests",
            "HTTP requests answered, by route template and status.",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "slaclock_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            labels,
            registry=self.registry,
            buckets=_BUCKETS,
        )

        # Labelled children by their labels: looking them up in prometheus-client costs
        # more than the observation itself.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "OTHER"  # client-chosen: keep labels bounded
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = self._children[key] = (
                self.requests.labels(*labels),
                self.latency.labels(*labels),
            )
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
