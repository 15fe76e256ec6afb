"""HTTP shapes of contracts and allowances (docs/contracts.md). No logic lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from service.apidoc.event_schemas import contract_event_schema
from service.apidoc.instants import Instant
from service.http.schemas import RecordedEventOut, Strict

ContractStatus = Literal["active", "suspended", "ended", "not_started"]


class ContractEventIn(Strict):
    """A contract event; its published schema is one branch per type (service/apidoc)."""

    event_id: str = Field(min_length=1, max_length=128)
    type: str
    occurred_at: Instant
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return contract_event_schema()


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
