"""A contract's service credits, and the credits still claimable across contracts.

A contract covers, for each service of its plan's uptime terms, every month
(in the terms' zone) it was active in: from the month of its start to the
month of its end or of the evaluation instant. Claims are its
``credit_claimed`` events up to the evaluation instant; their verdicts are
judged against those months (domain/credits.py).

``GET /v1/credits?state=claimable`` scans every contract the outage index has
seen started (it follows ``contract_started`` in the log) and keeps the months
whose deepest failed tier is unclaimed and still inside its claim window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.contract_events import ContractEnded, ContractEvent, CreditClaimed, contract_uuid
from domain.contract_timeline import ContractTimeline
from domain.credits import Claim, Verdict, judge_claims, window_open
from domain.errors import NotFound, ValidationFailed
from domain.uptime import Month, MonthUptime, evaluate_month, month_of, months_between, parse_month
from service.catalog import Catalog
from service.storage.eventstore import EventStore
from service.uptime_index import OutageIndex
from service.uptime_reads import Instants, UptimeTermsLookup


@dataclass(frozen=True)
class MonthCredit:
    service: str
    plan: str
    uptime: MonthUptime
    claimed: bool
    claimable: bool


@dataclass(frozen=True)
class ContractCredits:
    contract_id: str
    customer: str
    evaluated_at: datetime
    months: list[MonthCredit]
    verdicts: list[Verdict]


class CreditReads:
    def __init__(self, store: EventStore, index: OutageIndex, terms: UptimeTermsLookup) -> None:
        self._store = store
        self.index = index
        self.terms = terms

    @classmethod
    def over(cls, store: EventStore, catalog: Catalog) -> CreditReads:
        """The credit reads with their own outage index and terms lookup, wired the one way."""
        index = OutageIndex(store)
        return cls(store, index, UptimeTermsLookup(catalog, index))

    def contract(self, contract_id: str, when: Instants) -> ContractCredits:
        events = [
            r.event
            for r in self._store.aggregate_events(contract_uuid(contract_id))
            if isinstance(r.event, ContractEvent)
            and (when.known is None or r.event.timestamp <= when.known)
        ]
        timeline = ContractTimeline.from_events(events)
        if timeline is None:
            raise NotFound(f"contract {contract_id!r} was not started (as known then)")
        with self.index.current():
            months = self._months(timeline, _ended_at(events), when)
        claims = [c for e in events if (c := _claim(e, when.at)) is not None]
        by_key = {(m.service, m.uptime.month): m.uptime for m in months}
        verdicts = judge_claims(claims, lambda service, month: by_key.get((service, month)))
        claimed = {(c.service, c.month) for c in claims}
        months = [_settled(m, (m.service, m.uptime.month) in claimed, when.at) for m in months]
        return ContractCredits(contract_id, timeline.customer, when.at, months, verdicts)

    def claimable(self, when: Instants) -> list[tuple[ContractCredits, MonthCredit]]:
        """Unclaimed credits whose window is open, soonest deadline first (open outages last)."""
        with self.index.current() as index:
            contracts = sorted(index.contracts)
        found = []
        for contract_id in contracts:
            credits = self.contract(contract_id, when)
            found += [(credits, m) for m in credits.months if m.claimable]
        return sorted(found, key=_deadline_order)

    def _months(
        self, timeline: ContractTimeline, ended_at: datetime | None, when: Instants
    ) -> list[MonthCredit]:
        until = min(ended_at, when.at) if ended_at is not None else when.at
        if until < timeline.started_at:
            return []
        # Months are counted in the zone of the plan's terms (at the start, else now).
        ends = (timeline.started_at, until)
        zones = [
            t.zone for i in ends if (t := self.terms.of_plan(timeline.plan_at(i), i, when.known))
        ]
        if not zones:
            return []
        zone = zones[0]
        found = []
        for month in months_between(month_of(timeline.started_at, zone), month_of(until, zone)):
            covered_from = max(month.start(zone), timeline.started_at)
            plan = timeline.plan_at(covered_from)
            terms = self.terms.of_plan(plan, covered_from, when.known)
            if terms is None:
                continue
            for service in terms.services:
                uptime = evaluate_month(
                    self.index.timeline(service, when.known),
                    month,
                    zone=terms.zone,
                    tiers=terms.credits,
                    claim_within_days=terms.claim_within_days,
                    at=when.at,
                )
                found.append(MonthCredit(service, plan, uptime, claimed=False, claimable=False))
        return found


def _ended_at(events: list[ContractEvent]) -> datetime | None:
    ends = [e.occurred_at for e in events if isinstance(e, ContractEnded)]
    return min(ends) if ends else None


def _claim(event: ContractEvent, at: datetime) -> Claim | None:
    """A stored claim as the verdicts read it; one malformed beyond reading is left out."""
    if not isinstance(event, CreditClaimed) or event.occurred_at > at:
        return None
    data: dict[str, Any] = event.data
    try:
        month: Month = parse_month(data.get("period"))
    except ValidationFailed:
        return None
    service, evidence = data.get("service"), data.get("evidence")
    if not isinstance(service, str) or not isinstance(evidence, str):
        return None
    return Claim(event.event_id, service, month, event.occurred_at, event.timestamp, evidence)


def _settled(month: MonthCredit, claimed: bool, at: datetime) -> MonthCredit:
    credit = month.uptime.credit
    claimable = credit is not None and not claimed and window_open(credit, at)
    return MonthCredit(month.service, month.plan, month.uptime, claimed, claimable)


def _deadline_order(item: tuple[ContractCredits, MonthCredit]) -> tuple[Any, ...]:
    credits, month = item
    credit = month.uptime.credit
    deadline = credit.claim_deadline if credit is not None else None
    return (deadline is None, deadline or credits.evaluated_at, credits.contract_id, month.service)
