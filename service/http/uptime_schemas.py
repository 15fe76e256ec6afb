"""HTTP shapes of the service, uptime and credit endpoints. No logic lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from service.apidoc.event_schemas import service_event_schema
from service.apidoc.instants import Instant
from service.http.schemas import RecordedEventOut, Strict


class ServiceEventIn(Strict):
    event_id: str = Field(min_length=1, max_length=128, examples=["alert-7f3a"])
    type: str = Field(examples=["outage_started"], description="outage_started or outage_ended")
    occurred_at: Instant = Field(description="RFC 3339 with an offset")
    data: dict[str, Any] = Field(
        default_factory=dict, description="optional text: actor, source, note"
    )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return service_event_schema()


class ServiceEventReceipt(BaseModel):
    service_id: str
    event_id: str
    version: int
    position: int
    recorded_at: datetime


class ServiceHistoryOut(BaseModel):
    service_id: str
    events: list[RecordedEventOut]


class OutageOut(BaseModel):
    start: datetime
    end: datetime | None = Field(description="null while the outage lasts")
    started_by: str
    ended_by: str | None


class TierFailureOut(BaseModel):
    below: float
    days: int
    tipping_at: datetime = Field(description="when downtime first exceeded the tier's allowance")
    tipping_outage: OutageOut
    claim_deadline: datetime | None = Field(description="null while the tipping outage lasts")


class MonthUptimeOut(BaseModel):
    month: str = Field(examples=["2026-03"])
    start: datetime
    end: datetime
    length_seconds: int
    downtime_seconds: float
    uptime: float
    tiers_failed: list[TierFailureOut] = Field(description="shallowest first")
    credit_days: int | None = Field(description="the deepest tier failed earns these days")
    claim_deadline: datetime | None


class ServiceUptimeOut(BaseModel):
    service_id: str
    timezone: str
    plan: str | None = Field(description="the plan whose uptime terms give the tiers")
    evaluated_at: datetime
    months: list[MonthUptimeOut]


class MonthCreditOut(MonthUptimeOut):
    service: str
    plan: str
    eligible: bool = Field(description="a tier failed")
    claimed: bool
    claimable: bool = Field(description="eligible, unclaimed and inside the claim window")


class ClaimOut(BaseModel):
    event_id: str
    service: str
    month: str
    occurred_at: datetime
    recorded_at: datetime
    evidence: str
    verdict: str = Field(description="credited or refused")
    reason: str | None = Field(description="no_failure, window_closed or duplicate")
    days: int


class ContractCreditsOut(BaseModel):
    contract_id: str
    customer: str
    evaluated_at: datetime
    months: list[MonthCreditOut]
    claims: list[ClaimOut]


class ClaimableCreditOut(BaseModel):
    contract_id: str
    customer: str
    service: str
    month: str
    days: int
    tipping_at: datetime
    claim_deadline: datetime | None


class ClaimableCreditsOut(BaseModel):
    evaluated_at: datetime
    credits: list[ClaimableCreditOut]
