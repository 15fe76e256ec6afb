"""Builders for the uptime tests: service events and claims without a store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from domain.credits import Claim
from domain.outages import outages_of
from domain.service_events import OutageEnded, OutageStarted, ServiceEvent, service_uuid
from domain.uptime import Month, MonthUptime, OutageTimeline, evaluate_month
from domain.uptime_terms import UptimeTerms, parse_uptime_terms

LONDON_TERMS_DOC = {
    "services": ["iam-platform"],
    "period": "month",
    "timezone": "Europe/London",
    "credits": [{"below": 0.999, "days": 7}, {"below": 0.99, "days": 14}],
    "claim_within_days": 30,
}
LONDON_TERMS: UptimeTerms = parse_uptime_terms(LONDON_TERMS_DOC)
RECORDED = datetime(2026, 1, 1, tzinfo=UTC)
MARCH = Month(2026, 3)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def service_event(
    kind: str, at: datetime, version: int, service: str = "iam-platform"
) -> ServiceEvent:
    cls = OutageStarted if kind == "start" else OutageEnded
    return cls(
        originator_id=service_uuid(service),
        originator_version=version,
        timestamp=RECORDED + timedelta(seconds=version),
        service_id=service,
        event_id=f"{kind}-{version}",
        occurred_at=at,
        data={},
        fingerprint=f"fp-{version}",
    )


def outage_events(*pairs: tuple[str, str | None]) -> list[ServiceEvent]:
    events: list[ServiceEvent] = []
    for start, end in pairs:
        events.append(service_event("start", utc(start), len(events) + 1))
        if end is not None:
            events.append(service_event("end", utc(end), len(events) + 1))
    return events


def march(
    events: list[ServiceEvent], at: datetime, terms: UptimeTerms = LONDON_TERMS
) -> MonthUptime:
    return evaluate_month(
        OutageTimeline(outages_of(events)),
        MARCH,
        zone=terms.zone,
        tiers=terms.credits,
        claim_within_days=terms.claim_within_days,
        at=at,
    )


def claim(at: datetime, month: Month = MARCH, service: str = "iam-platform") -> Claim:
    return Claim(uuid.uuid4().hex, service, month, at, at, "https://status.example/shot.png")
