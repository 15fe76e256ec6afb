"""Service-credit claims: what a ``credit_claimed`` event must carry, and its verdict.

A claim names a service and a month of the contract's uptime terms, with
evidence. Its verdict is derived, never stored: ``credited`` with the days of
the deepest tier failed, or refused with a reason:
- ``duplicate``: the contract already claimed that service and month (the
  first claim in ``occurred_at`` order stands, whatever its verdict);
- ``no_failure``: no tier had failed by the claim's instant (or the contract
  was not active that month);
- ``window_closed``: every failed tier's tipping outage ended more than
  ``claim_within_days`` calendar days (in the terms' time zone) before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.errors import FieldError, ValidationFailed
from domain.events import MAX_TEXT
from domain.uptime import Month, MonthUptime, TierFailure, parse_month
from domain.uptime_terms import SERVICE_ID, UptimeTerms

CLAIM_FIELDS = frozenset({"service", "period", "evidence", "note"})
CREDITED = "credited"
REFUSED = "refused"


def check_claim(
    data: Mapping[str, Any], terms: UptimeTerms | None, occurred_at: datetime
) -> dict[str, Any]:
    """Validate a ``credit_claimed`` event's data against the contract's plan; return it clean.

    The contract write path calls this with the uptime terms of the plan in
    effect for the contract (None when the plan has none). Raises
    ValidationFailed (422) for a plan without uptime terms, missing evidence, a
    service the terms do not name, or a month that has not started at
    ``occurred_at``.
    """
    clean = {k: v for k, v in data.items() if v is not None}
    errors = [FieldError(f"data.{k}", "is not a field of this event type") for k in sorted(clean)]
    errors = [e for e in errors if e.field.removeprefix("data.") not in CLAIM_FIELDS]
    for key in ("evidence", "note"):
        _text(clean, key, errors, required=key == "evidence")
    if terms is None:
        errors.append(FieldError("data.service", "the contract's plan has no uptime terms"))
    elif clean.get("service") not in terms.services or not SERVICE_ID.match(
        str(clean.get("service"))
    ):
        named = ", ".join(terms.services)
        errors.append(FieldError("data.service", f"must be a service of the plan ({named})"))
    month = _month(clean.get("period"), errors)
    if terms is not None and month is not None and month.start(terms.zone) > occurred_at:
        errors.append(FieldError("data.period", "has not started at occurred_at"))
    if errors:
        raise ValidationFailed(errors)
    return clean


def _text(clean: dict[str, Any], key: str, errors: list[FieldError], *, required: bool) -> None:
    value = clean.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(f"data.{key}", "required: a non-empty string (text or a URL)"))
    elif len(value) > MAX_TEXT:
        errors.append(FieldError(f"data.{key}", f"must be at most {MAX_TEXT} characters"))


def _month(value: object, errors: list[FieldError]) -> Month | None:
    try:
        return parse_month(value, "data.period")
    except ValidationFailed as error:
        errors.extend(error.errors)
        return None


@dataclass(frozen=True)
class Claim:
    """A claim as recorded: the facts a verdict is derived from."""

    event_id: str
    service: str
    month: Month
    occurred_at: datetime
    recorded_at: datetime
    evidence: str


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str  # credited or refused
    reason: str | None  # no_failure, window_closed or duplicate when refused
    days: int
    failure: TierFailure | None  # the tier credited


# The month's uptime of a service as evaluated, or None when the contract was not active.
MonthLookup = Callable[[str, Month], MonthUptime | None]


def judge_claims(claims: Sequence[Claim], month_uptime: MonthLookup) -> list[Verdict]:
    """Every claim's verdict, judged in ``occurred_at`` order (ties in recorded order)."""
    seen: set[tuple[str, Month]] = set()
    verdicts = []
    for claim in sorted(claims, key=lambda c: (c.occurred_at, c.recorded_at)):
        key = (claim.service, claim.month)
        if key in seen:
            verdicts.append(Verdict(claim, REFUSED, "duplicate", 0, None))
            continue
        seen.add(key)
        verdicts.append(judge(claim, month_uptime(claim.service, claim.month)))
    return verdicts


def judge(claim: Claim, uptime: MonthUptime | None) -> Verdict:
    """One claim against its month: the deepest tier failed by then whose window is open."""
    failed = (
        [] if uptime is None else [f for f in uptime.failures if f.tipping_at <= claim.occurred_at]
    )
    if not failed:
        return Verdict(claim, REFUSED, "no_failure", 0, None)
    for failure in reversed(failed):
        if window_open(failure, claim.occurred_at):
            return Verdict(claim, CREDITED, None, failure.tier.days, failure)
    return Verdict(claim, REFUSED, "window_closed", 0, None)


def window_open(failure: TierFailure, instant: datetime) -> bool:
    """Open while the tipping outage lasts, and until its deadline (inclusive) after."""
    ended = failure.outage_ended_at
    if ended is None or ended >= instant:
        return True
    assert failure.claim_deadline is not None
    return instant <= failure.claim_deadline
