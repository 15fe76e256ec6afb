"""Uptime reads: a service's months, a contract's credits, and what is still claimable.

Everything is derived at the evaluation instant (``as_of``, default now) from
the events recorded by ``as_known_at``: the outages from the outage index,
the uptime terms from the policy versions in effect, the claims from the
contract's events. Nothing here is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import NotFound, ValidationFailed
from domain.instants import to_utc
from domain.uptime import Month, MonthUptime, evaluate_month, months_between, parse_month
from domain.uptime_terms import UptimeTerms
from domain.versions import in_effect_at, known_at
from service.catalog import Catalog
from service.uptime_index import OutageIndex

MAX_MONTHS = 120
UTC_ZONE = "UTC"


@dataclass(frozen=True)
class ServiceUptime:
    service_id: str
    timezone: str
    plan: str | None  # the plan whose terms give the tiers, if any names the service
    terms: UptimeTerms | None
    evaluated_at: datetime
    months: list[MonthUptime]


class Instants:
    """The evaluation instant and the knowledge cut-off of one read."""

    def __init__(
        self, clock: Callable[[], datetime], as_of: datetime | None, as_known_at: datetime | None
    ) -> None:
        self.known = to_utc(as_known_at, "as_known_at") if as_known_at else None
        if as_of is not None:
            self.at = to_utc(as_of, "as_of")
        else:
            now = clock()
            self.at = min(self.known, now) if self.known is not None else now


class UptimeTermsLookup:
    """The uptime terms of every plan, as in effect and known at given instants."""

    def __init__(self, catalog: Catalog, index: OutageIndex) -> None:
        self._catalog = catalog
        self._index = index

    def of_plan(self, plan: str, at: datetime, known: datetime | None) -> UptimeTerms | None:
        if plan in self._index.changed_plans:
            self._index.changed_plans.discard(plan)
            self._catalog.policy_versions(plan, refresh=True)
        versions = known_at(self._catalog.policy_versions(plan, refresh=False), known)
        version = in_effect_at(versions, at)
        return None if version is None else version.value.uptime

    def naming(
        self, service_id: str, at: datetime, known: datetime | None
    ) -> list[tuple[str, UptimeTerms]]:
        found = []
        for plan in sorted(self._index.plans):
            terms = self.of_plan(plan, at, known)
            if terms is not None and service_id in terms.services:
                found.append((plan, terms))
        return found


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed.single("timezone", f"unknown time zone {name!r}") from None


def month_range(first: str, last: str) -> list[Month]:
    months = months_between(parse_month(first, "from"), parse_month(last, "to"))
    if not months:
        raise ValidationFailed.single("to", "must not be before from")
    if len(months) > MAX_MONTHS:
        raise ValidationFailed.single("to", f"at most {MAX_MONTHS} months per read")
    return months


class ServiceUptimeReads:
    def __init__(self, index: OutageIndex, terms: UptimeTermsLookup) -> None:
        self._index = index
        self._terms = terms

    def uptime(
        self, service_id: str, months: list[Month], timezone: str | None, when: Instants
    ) -> ServiceUptime:
        """Each month's uptime; tiers from the first plan (by id) whose terms name the service.

        The zone: ``timezone`` if given, else the terms' zone when every plan naming
        the service agrees on it, else UTC.
        """
        with self._index.current() as index:
            naming = self._terms.naming(service_id, when.at, when.known)
            if not naming and service_id not in index.services():
                # A service some plan names is up until an outage is posted; another is unknown.
                raise NotFound(f"service {service_id!r} has no events and no plan names it")
            zones = {t.timezone for _, t in naming}
            zone = timezone or (zones.pop() if len(zones) == 1 else UTC_ZONE)
            plan, terms = naming[0] if naming else (None, None)
            timeline = index.timeline(service_id, when.known)
            months_zone = zone_named(zone)
            found = [
                evaluate_month(
                    timeline,
                    month,
                    zone=months_zone,
                    tiers=terms.credits if terms else (),
                    claim_within_days=terms.claim_within_days if terms else 0,
                    at=when.at,
                )
                for month in months
            ]
        return ServiceUptime(service_id, zone, plan, terms, when.at, found)

    def month_to_date(self, at: datetime) -> list[tuple[str, MonthUptime]]:
        """Every service's current month so far, in its default zone (for /metrics)."""
        found = []
        with self._index.current() as index:
            for service_id in index.services():
                zones = {t.timezone for _, t in self._terms.naming(service_id, at, None)}
                zone = ZoneInfo(zones.pop() if len(zones) == 1 else UTC_ZONE)
                local = at.astimezone(zone)
                month = Month(local.year, local.month)
                timeline = index.timeline(service_id)
                found.append(
                    (
                        service_id,
                        evaluate_month(
                            timeline, month, zone=zone, tiers=(), claim_within_days=0, at=at
                        ),
                    )
                )
        return found
