"""HTTP shapes of contracts and allowances (docs/contracts.md). No logic lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from service.schemas import RecordedEventOut

ContractStatus = Literal["active", "suspended", "ended", "not_started"]


class ContractEventReceipt(BaseModel):
    contract_id: str
    event_id: str
    version: int
    position: int
    recorded_at: datetime


class AllowanceOut(BaseModel):
    id: str
    unit: Literal["hours", "days"]
    term: int
    granted: float
    used: float
    onsite_used: float
    balance: float
    overdrawn: bool
    expires_at: datetime
    forfeited: float | None


class TermOut(BaseModel):
    number: int
    start: datetime
    end: datetime
    allowances: list[AllowanceOut]


class ContractOut(BaseModel):
    contract_id: str
    customer: str
    plan: str
    calendar: str | None
    status: ContractStatus
    started_at: datetime
    ends_at: datetime | None
    evaluated_at: datetime
    term: TermOut | None
    past_terms: list[TermOut]


class ContractPageOut(BaseModel):
    items: list[ContractOut]
    next_cursor: str | None
    evaluated_at: datetime


class AllowanceItemOut(AllowanceOut):
    contract_id: str
    customer: str
    plan: str


class AllowancePageOut(BaseModel):
    items: list[AllowanceItemOut]
    next_cursor: str | None
    evaluated_at: datetime


class ContractHistoryOut(BaseModel):
    contract_id: str
    events: list[RecordedEventOut]
