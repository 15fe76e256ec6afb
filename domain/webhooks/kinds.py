"""The kinds of webhook event."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    # Derived from clock rows as the projections change them, or at their instants.
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    BREACH_RETRACTED = "breach_retracted"
    # Derived from contracts as they stand now, looked for by the webhooks worker.
    ALLOWANCE_LOW = "allowance_low"
    CREDIT_CLAIMABLE = "credit_claimable"
