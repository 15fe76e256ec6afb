"""The uptime side of the application: service events, uptime and credit reads, wired once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from service.catalog import Catalog
from service.credit_reads import CreditReads
from service.service_events import ServiceEvents
from service.storage.eventstore import EventStore
from service.storage.writer import Writer, utc_now
from service.uptime_reads import Instants, ServiceUptimeReads


class UptimeApi:
    def __init__(
        self,
        store: EventStore,
        catalog: Catalog,
        writer: Writer,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.credits = CreditReads.over(store, catalog)
        self.events = ServiceEvents(store, writer)
        self.services = ServiceUptimeReads(self.credits.index, self.credits.terms)
        self._clock = clock

    def instants(self, as_of: datetime | None, as_known_at: datetime | None) -> Instants:
        return Instants(self._clock, as_of, as_known_at)

    def metrics_lines(self) -> list[str]:
        """Prometheus gauges of each service's month-to-date uptime and downtime."""
        found = self.services.month_to_date(self._clock())
        lines = [
            "# HELP slaclock_service_uptime_ratio Month-to-date uptime of each service:"
            " 1 - downtime so far / the month's length (its calendar month in the zone of"
            " the uptime terms naming it, else UTC).",
            "# TYPE slaclock_service_uptime_ratio gauge",
        ]
        lines += [f'slaclock_service_uptime_ratio{{service="{s}"}} {m.uptime!r}' for s, m in found]
        lines += [
            "# HELP slaclock_service_downtime_seconds Month-to-date downtime of each service.",
            "# TYPE slaclock_service_downtime_seconds gauge",
        ]
        lines += [
            f'slaclock_service_downtime_seconds{{service="{s}"}} {m.downtime_seconds!r}'
            for s, m in found
        ]
        return lines
