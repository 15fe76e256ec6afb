"""HTTP request and response schemas (the shapes of api.md). No logic lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from domain.calendar import MAX_DATES, MAX_INTERVALS_PER_DAY
from domain.clock_model import ClockState, Outcome, SegmentKind, TicketStatus
from domain.events import MAX_SEQUENCE
from domain.policy import MAX_PRIORITIES, MAX_PRIORITY_RULES
from service.apidoc.event_schemas import ticket_event_schema
from service.apidoc.instants import Instant

TICKET_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
CATALOG_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
TicketId = Annotated[str, Field(pattern=TICKET_ID_PATTERN, min_length=1, max_length=128)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- ticket events ----------------------------------------------------------------


class EventIn(Strict):
    """A ticket event; its published schema is one branch per type (service/apidoc)."""

    event_id: str = Field(min_length=1, max_length=128, examples=["evt-000123"])
    type: str = Field(examples=["opened"], description="one of the nine event types")
    occurred_at: Instant = Field(description="RFC 3339 with an offset")
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="the type's fields; any type may add `attributes`, a free-form JSON"
        " object of at most 4 KB, stored and returned but never interpreted",
    )
    sequence: Annotated[int, Field(strict=True, ge=0, le=MAX_SEQUENCE)] | None = Field(
        default=None,
        description="the source's own order among this ticket's events at the same"
        " occurred_at (e.g. ServiceNow's sys_mod_count); part of the body",
    )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return ticket_event_schema()


class BatchItemIn(EventIn):
    ticket_id: TicketId


MAX_BATCH_ITEMS = 1000


class BatchIn(Strict):
    events: list[dict[str, Any]] = Field(
        max_length=MAX_BATCH_ITEMS, description="up to 1,000 items"
    )


class EventReceipt(BaseModel):
    ticket_id: str
    event_id: str
    version: int
    position: int
    recorded_at: datetime


class BatchResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: int


class BatchOut(BaseModel):
    results: list[BatchResult]


class RecordedEventOut(BaseModel):
    event_id: str
    type: str
    occurred_at: datetime
    recorded_at: datetime
    version: int
    position: int
    data: dict[str, Any]


class TicketRecordedEventOut(RecordedEventOut):
    sequence: int | None = None


class HistoryOut(BaseModel):
    ticket_id: str
    events: list[TicketRecordedEventOut]


# --- calendars and policies --------------------------------------------------------


Dates = Annotated[list[str], Field(max_length=MAX_DATES)]


class CalendarIn(Strict):
    timezone: str = Field(min_length=1, description="an IANA time zone name")
    week: dict[str, Annotated[list[list[str]], Field(max_length=MAX_INTERVALS_PER_DAY)]] = Field(
        description="open hours per weekday (mon..sun), at least one day open"
    )
    holidays: dict[str, Any] | Dates | None = None
    extra_closed: Dates = Field(default_factory=list)
    extra_open: Dates = Field(default_factory=list)
    hours_per_working_day: float | None = None
    effective_from: Instant | None = None


class PriorityRuleIn(Strict):
    when: dict[str, str]
    priority: str


class MetricIn(Strict):
    targets: dict[str, dict[str, float]] = Field(max_length=MAX_PRIORITIES)
    pause_when_awaiting_customer: bool | None = None
    objective: float | None = None


class CreditTierIn(Strict):
    below: float = Field(description="uptime below this fraction (0.999 = 99.9%) fails the tier")
    days: int = Field(description="days of service credit the tier earns")


class UptimeTermsIn(Strict):
    services: list[str] = Field(examples=[["iam-platform"]])
    period: str = Field(default="month", description="only month")
    timezone: str = Field(examples=["Europe/London"], description="the zone of calendar months")
    credits: list[CreditTierIn]
    claim_within_days: int = Field(description="calendar days from the tipping outage's end")


class PolicyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    effective_from: Instant | None = None
    calendar: str
    priorities: list[str] = Field(max_length=MAX_PRIORITIES)
    default_priority: str
    priority_rules: list[PriorityRuleIn] = Field(
        default_factory=list, max_length=MAX_PRIORITY_RULES
    )
    calendar_overrides: dict[str, str] = Field(default_factory=dict, max_length=MAX_PRIORITIES)
    warning_fraction: float | None = None
    metrics: dict[str, MetricIn]
    uptime: UptimeTermsIn | None = None
    allowances: list[dict[str, Any]] | None = Field(
        default=None,
        description="granted to every contract on the plan, each term: id, unit (hours|days), "
        "amount, optional onsite {max_share, min_consecutive_days} and overdraw (refuse|allow)",
    )
    allowance_templates: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description="allowances a contract may pick by name: {name: {unit, amount, ...}}",
    )


class CalendarVersionOut(BaseModel):
    calendar_id: str
    version: int
    effective_from: datetime | None


class PolicyVersionOut(BaseModel):
    plan_id: str
    version: int
    effective_from: datetime | None


class VersionInfo(BaseModel):
    version: int
    effective_from: datetime | None
    recorded_at: datetime


class CalendarOut(CalendarVersionOut):
    model_config = ConfigDict(extra="allow")
    recorded_at: datetime


class PolicyOut(PolicyVersionOut):
    model_config = ConfigDict(extra="allow")
    recorded_at: datetime


class VersionsOut(BaseModel):
    id: str
    versions: list[VersionInfo]


# --- ticket reads --------------------------------------------------------------------


class ClockOut(BaseModel):
    metric: str
    calendar: str
    state: ClockState
    outcome: Outcome
    at_risk: bool
    target_seconds: int
    elapsed_seconds: int
    remaining_seconds: int
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    suspended_seconds: int = Field(
        description="business seconds, on this clock's calendar, that a suspension of the "
        "ticket's contract kept it from counting"
    )


class TicketOut(BaseModel):
    ticket_id: str
    plan: str
    policy_version: int
    priority: str
    customer: str | None
    kind: str
    status: TicketStatus
    opened_at: datetime
    evaluated_at: datetime
    clocks: list[ClockOut]


class SegmentOut(BaseModel):
    start: datetime
    end: datetime
    kind: SegmentKind
    seconds: int
    calendar: str
    event_id: str | None


class SegmentsOut(BaseModel):
    ticket_id: str
    metric: str
    evaluated_at: datetime
    segments: list[SegmentOut]


# --- operations ----------------------------------------------------------------------


class Health(BaseModel):
    status: str
    checks: dict[str, Any] = Field(default_factory=dict)
