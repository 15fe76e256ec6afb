"""Announcements about contracts rather than clocks: an allowance running low, a
service credit that can be claimed.

Both are derived state, read from the contract's events at an instant, not the
projection of one event: a work log, a late retraction, a new term or an outage
running on past a tier can each change them. So they are found by looking
(``NoticeSweeper``) and each is announced once per ``key``: the key names what
the receiver is told (this allowance is low in this term; this month of this
service has failed this tier on this contract), so the same fact is never
announced twice and a new fact (the next term, a deeper tier) is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.allowances import AllowanceReport, is_low
from domain.webhooks.kinds import Kind

JsonValue = str | int | float | bool | None


@dataclass(frozen=True)
class Notice:
    kind: Kind
    key: str  # what is announced, once: stable across sweeps
    contract_id: str
    customer: str
    plan: str
    data: Mapping[str, JsonValue] = field(default_factory=dict)

    @property
    def subject(self) -> dict[str, str]:
        """The fields subscription filters match (a contract has no priority)."""
        return {"plan": self.plan, "customer": self.customer}

    def body_data(self) -> dict[str, JsonValue]:
        return {
            "contract_id": self.contract_id,
            "customer": self.customer,
            "plan": self.plan,
            **self.data,
        }


def iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def allowance_low(
    contract_id: str, customer: str, plan: str, report: AllowanceReport
) -> Notice | None:
    """The notice of an allowance under a fifth of its term's grant; None while it is not."""
    if not is_low(report):
        return None
    return Notice(
        Kind.ALLOWANCE_LOW,
        f"allowance_low|{contract_id}|{report.id}|{report.term}",
        contract_id,
        customer,
        plan,
        {
            "allowance": report.id,
            "unit": report.unit,
            "term": report.term,
            "granted": float(report.granted),
            "used": float(report.used),
            "balance": float(report.balance),
            "expires_at": iso(report.expires_at),
        },
    )


@dataclass(frozen=True)
class ClaimableCredit:
    """A month of a service whose deepest failed tier is unclaimed, its window open."""

    service: str
    month: str  # YYYY-MM
    uptime: float
    days: int
    below: float
    tipping_at: datetime
    claim_deadline: datetime | None  # None while the tipping outage lasts


def credit_claimable(contract_id: str, customer: str, plan: str, credit: ClaimableCredit) -> Notice:
    return Notice(
        Kind.CREDIT_CLAIMABLE,
        f"credit_claimable|{contract_id}|{credit.service}|{credit.month}|{credit.days}",
        contract_id,
        customer,
        plan,
        {
            "service": credit.service,
            "month": credit.month,
            "uptime": credit.uptime,
            "tier_below": credit.below,
            "days": credit.days,
            "tipping_at": iso(credit.tipping_at),
            "claim_deadline": iso(credit.claim_deadline),
        },
    )
