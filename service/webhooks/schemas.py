"""Request and response bodies of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.webhooks.kinds import Kind

FilterValues = list[str] | None


class WebhookFilters(BaseModel):
    """Only events matching every given field are sent; an absent field matches all.

    A contract's events (allowance_low, credit_claimable) have no priority: the
    priority filter does not apply to them."""

    model_config = ConfigDict(extra="forbid")
    plan: FilterValues = Field(default=None, min_length=1, max_length=100)
    customer: FilterValues = Field(default=None, min_length=1, max_length=100)
    priority: FilterValues = Field(default=None, min_length=1, max_length=100)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2048, description="http(s) URL receiving POSTs")
    kinds: list[Kind] = Field(
        min_length=1,
        description="clocks: at_risk, breached, met, breach_retracted; contracts: "
        "allowance_low, credit_claimable",
    )
    filters: WebhookFilters = Field(default_factory=WebhookFilters)
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="whsec_ + base64 (at least 16 bytes); generated when absent",
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    kinds: list[str]
    filters: dict[str, list[str]]
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="the signing secret: shown here once, never again")


class WebhookListOut(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header, the same on every attempt")
    kind: str
    ticket_id: str | None = Field(description="the clock's ticket; null for a contract's event")
    metric: str | None = Field(description="the clock's metric; null for a contract's event")
    contract_id: str | None = Field(description="the contract of allowance_low, credit_claimable")
    status: str = Field(description="pending, sending, delivered or dead")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    payload: dict[str, Any]


class DeliveryListOut(BaseModel):
    items: list[DeliveryOut]
