"""Allowance balances: what a term grants, what was spent, what is left or forfeited.

Balance at ``as_of`` T = the grant of the term containing T minus the entries in
that term with ``occurred_at`` <= T that are not retracted (the caller gives a
state replayed from what was known at ``as_known_at``). An entry counts in the
term containing its ``occurred_at``, so a late entry lands in the right year.
A retraction removes its entry from every ``as_of`` view once it is known: it
corrects the record, it does not say the work stopped counting at some instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain.allowance_spec import Allowance, amount_text
from domain.contract import ContractState, NewContractEvent
from domain.errors import Conflict, ValidationFailed

ZERO = Decimal(0)


@dataclass(frozen=True)
class AllowanceReport:
    id: str
    unit: str
    term: int
    granted: Decimal
    used: Decimal
    onsite_used: Decimal
    expires_at: datetime
    # Set once the term is over: what was left unused at its end.
    forfeited: Decimal | None

    @property
    def balance(self) -> Decimal:
        return self.granted - self.used

    @property
    def overdrawn(self) -> bool:
        return self.balance < 0


# An allowance is low under this share of its term's grant (what `state=low` lists and
# `allowance_low` announces).
LOW_SHARE = Decimal("0.2")


def is_low(report: AllowanceReport) -> bool:
    return report.balance < LOW_SHARE * report.granted


def check_work(state: ContractState, command: NewContractEvent) -> None:
    """A new ``work_logged``: a granted allowance, a term, onsite blocks, no overdraw."""
    at = command.occurred_at
    name = str(command.data["allowance"])
    k = state.term_at(at)
    if k is None:
        raise ValidationFailed.single(
            "occurred_at", "the contract has no term in effect at occurred_at"
        )
    allowance = state.grants_for_term(k, at).get(name)
    if allowance is None:
        granted = ", ".join(sorted(state.grants_for_term(k, at))) or "none"
        raise ValidationFailed.single(
            "data.allowance", f"{name!r} is not an allowance of this contract (granted: {granted})"
        )
    final = state.grants_for_term(k, state.term_bounds(k)[1]).get(name, allowance)
    amount = Decimal(str(command.data["amount"]))
    used, onsite_used = state.totals.get((name, k), [ZERO, ZERO])
    if command.data.get("onsite") is True:
        _check_onsite(final, amount, onsite_used)
    balance = final.amount - used
    if amount > balance and final.overdraw != "allow":
        raise Conflict(
            f"allowance {name!r} has {amount_text(balance)} {final.unit} left in term {k + 1}; "
            f"an entry of {amount_text(amount)} would overdraw it"
        )


def _check_onsite(allowance: Allowance, amount: Decimal, onsite_used: Decimal) -> None:
    if allowance.onsite is None:
        raise ValidationFailed.single(
            "data.onsite", f"allowance {allowance.id!r} has no onsite terms"
        )
    least = allowance.onsite.min_consecutive_days
    if amount < least:
        raise ValidationFailed.single(
            "data.amount", f"onsite work comes in blocks of at least {least} consecutive days"
        )
    cap = allowance.onsite_cap
    assert cap is not None
    if onsite_used + amount > cap:
        raise Conflict(
            f"allowance {allowance.id!r} allows {amount_text(cap)} onsite days a term; "
            f"{amount_text(onsite_used)} are used, {amount_text(amount)} more would exceed it"
        )


def reports_at(state: ContractState, k: int, at: datetime) -> list[AllowanceReport]:
    """Each allowance of term ``k`` as at ``at`` (the term's end for a past term)."""
    _, end = state.term_bounds(k)
    seen_at = min(at, end)
    spent: dict[str, list[Decimal]] = {}
    for entry in state.entries.values():
        if entry.term != k or entry.retracted_at is not None or entry.occurred_at > at:
            continue
        totals = spent.setdefault(entry.allowance, [ZERO, ZERO])
        totals[0] += entry.amount
        if entry.onsite:
            totals[1] += entry.amount
    over = at >= end
    reports = []
    for allowance in state.grants_for_term(k, seen_at).values():
        used, onsite = spent.get(allowance.id, [ZERO, ZERO])
        left = max(ZERO, allowance.amount - used)
        reports.append(
            AllowanceReport(
                allowance.id,
                allowance.unit,
                k + 1,
                allowance.amount,
                used,
                onsite,
                end,
                left if over else None,
            )
        )
    return reports


def past_terms(state: ContractState, at: datetime) -> list[int]:
    """The terms over by ``at``: every one before the current, or all if the contract ended."""
    if state.term is None:
        return []
    current = state.term_at(at)
    if current is not None:
        return list(range(current))[-PAST_TERMS_SHOWN:]
    end = state.end_at()
    if end is None or at < end:
        return []  # before the first term
    last = state.term.index_at(end - TICK)
    return [] if last is None else list(range(last + 1))[-PAST_TERMS_SHOWN:]


# A read shows the latest past terms; an auto-renewing contract may have had many.
PAST_TERMS_SHOWN = 10
TICK = timedelta(microseconds=1)
