"""What a contract read answers at ``as_of``: its terms, status and allowance reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from domain.allowances import AllowanceReport, past_terms, reports_at
from domain.contract import ContractState

Status = Literal["active", "suspended", "ended", "not_started"]


@dataclass(frozen=True)
class TermView:
    number: int
    start: datetime
    end: datetime
    allowances: tuple[AllowanceReport, ...]


@dataclass(frozen=True)
class ContractView:
    contract_id: str
    customer: str
    plan: str
    calendar: str | None
    status: Status
    started_at: datetime
    ends_at: datetime | None
    evaluated_at: datetime
    term: TermView | None
    past_terms: tuple[TermView, ...]


def status_at(state: ContractState, at: datetime) -> Status:
    assert state.started_at is not None
    if at < state.started_at:
        return "not_started"
    if not state.in_effect_at(at):
        return "ended"
    return "suspended" if state.suspended_at(at) else "active"


def term_view(state: ContractState, k: int, at: datetime) -> TermView:
    start, end = state.term_bounds(k)
    return TermView(k + 1, start, end, tuple(reports_at(state, k, at)))


def contract_view(state: ContractState, at: datetime) -> ContractView:
    """The contract as at ``at``; ``state`` holds only what was known at as_known_at."""
    assert state.started_at is not None
    change = state.plan_change_at(at)
    current = state.term_at(at)
    return ContractView(
        state.contract_id,
        state.customer,
        change.plan,
        change.calendar,
        status_at(state, at),
        state.started_at,
        state.end_at(),
        at,
        None if current is None else term_view(state, current, at),
        tuple(term_view(state, k, at) for k in past_terms(state, at)),
    )
