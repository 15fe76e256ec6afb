"""Uptime terms of a plan: which services it guarantees, how, and what failing them earns.

The ``uptime`` key of a policy document:

    {"services": ["iam-platform"], "period": "month", "timezone": "Europe/London",
     "credits": [{"below": 0.999, "days": 7}, {"below": 0.99, "days": 14}],
     "claim_within_days": 30}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import FieldError, ValidationFailed

PERIODS = ("month",)
SERVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_CREDIT_DAYS = 366
MAX_CLAIM_DAYS = 3660
_FIELDS = {"services", "period", "timezone", "credits", "claim_within_days"}


@dataclass(frozen=True)
class CreditTier:
    """Uptime below ``below`` (a fraction, 0.999 for 99.9%) earns ``days`` of credit."""

    below: float
    days: int

    @cached_property
    def allowed_fraction(self) -> Fraction:
        """The share of the period that may be down without failing: exact (0.999 -> 1/1000)."""
        return 1 - Fraction(repr(self.below))


@dataclass(frozen=True)
class UptimeTerms:
    services: tuple[str, ...]
    period: str
    timezone: str
    # Shallowest first (highest ``below``): the last failed one is the deepest.
    credits: tuple[CreditTier, ...]
    claim_within_days: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_uptime_terms(value: Any) -> UptimeTerms:
    """Validate an ``uptime`` object; every bad field is reported at once."""
    terms, errors = read_uptime_terms(value, "uptime")
    if errors or terms is None:
        raise ValidationFailed(errors)
    return terms


def read_uptime_terms(value: Any, path: str) -> tuple[UptimeTerms | None, list[FieldError]]:
    if not isinstance(value, Mapping):
        return None, [FieldError(path, "must be an object with services, credits and a timezone")]
    errors = [FieldError(f"{path}.{k}", "unknown field") for k in value if k not in _FIELDS]
    services = _services(value.get("services"), f"{path}.services", errors)
    period = value.get("period", "month")
    if period not in PERIODS:
        errors.append(FieldError(f"{path}.period", f"must be one of {', '.join(PERIODS)}"))
    timezone = _timezone(value.get("timezone"), f"{path}.timezone", errors)
    credits = _credits(value.get("credits"), f"{path}.credits", errors)
    within = value.get("claim_within_days")
    if not isinstance(within, int) or not _whole(within, MAX_CLAIM_DAYS):
        errors.append(
            FieldError(f"{path}.claim_within_days", f"required: a whole number 1..{MAX_CLAIM_DAYS}")
        )
    if errors:
        return None, errors
    return UptimeTerms(services, str(period), timezone, credits, int(within or 0)), []


def uptime_document(terms: UptimeTerms) -> dict[str, Any]:
    """The canonical JSON form; ``parse_uptime_terms`` takes it back."""
    return {
        "services": list(terms.services),
        "period": terms.period,
        "timezone": terms.timezone,
        "credits": [{"below": t.below, "days": t.days} for t in terms.credits],
        "claim_within_days": terms.claim_within_days,
    }


def _whole(value: Any, limit: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= limit


def _services(value: Any, path: str, errors: list[FieldError]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        errors.append(FieldError(path, "required: a non-empty list of service ids"))
        return ()
    seen: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not SERVICE_ID.match(item):
            errors.append(FieldError(f"{path}[{index}]", "must be a service id ([A-Za-z0-9._:-])"))
        elif item in seen:
            errors.append(FieldError(f"{path}[{index}]", f"duplicate service {item!r}"))
        else:
            seen.append(item)
    return tuple(seen)


def _timezone(value: Any, path: str, errors: list[FieldError]) -> str:
    if not isinstance(value, str) or not value:
        errors.append(FieldError(path, "required: an IANA time zone such as Europe/London"))
        return ""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(FieldError(path, f"unknown time zone {value!r}"))
        return ""
    return value


def _credits(value: Any, path: str, errors: list[FieldError]) -> tuple[CreditTier, ...]:
    if not isinstance(value, list) or not value:
        errors.append(FieldError(path, "required: a non-empty list of {below, days} tiers"))
        return ()
    tiers: list[CreditTier] = []
    for index, item in enumerate(value):
        tier = _tier(item, f"{path}[{index}]", errors)
        if tier is not None and any(t.below == tier.below for t in tiers):
            errors.append(FieldError(f"{path}[{index}].below", "duplicate tier"))
        elif tier is not None:
            tiers.append(tier)
    return tuple(sorted(tiers, key=lambda t: -t.below))


def _tier(item: Any, path: str, errors: list[FieldError]) -> CreditTier | None:
    if not isinstance(item, Mapping) or set(item) != {"below", "days"}:
        errors.append(FieldError(path, "must be exactly {below, days}"))
        return None
    below, days = item["below"], item["days"]
    ok = True
    if not (isinstance(below, int | float) and not isinstance(below, bool)) or not (
        math.isfinite(below) and 0 < below < 1
    ):
        errors.append(FieldError(f"{path}.below", "must be a number > 0 and < 1 (0.999 = 99.9%)"))
        ok = False
    if not _whole(days, MAX_CREDIT_DAYS):
        errors.append(FieldError(f"{path}.days", f"must be a whole number 1..{MAX_CREDIT_DAYS}"))
        ok = False
    return CreditTier(float(below), int(days)) if ok else None
