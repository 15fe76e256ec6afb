"""What an allowance grants each term, and how amounts are read.

An allowance (SoftwareIDM's 20 support hours, Ivanti's TRM days) is granted
afresh each term; the plan may grant some and a contract may add its own.
Amounts are exact decimals with at most 2 places, stored as strings so the
log never holds a float.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import FieldError
from domain.events import MAX_NAME

UNITS = ("hours", "days")
OVERDRAW = ("refuse", "allow")
MAX_AMOUNT = Decimal("1000000")
_ALLOWANCE_FIELDS = {"id", "unit", "amount", "onsite", "overdraw"}
_ONSITE_FIELDS = {"max_share", "min_consecutive_days"}


@dataclass(frozen=True)
class Onsite:
    """Onsite entries: whole days, in blocks of at least ``min_consecutive_days``."""

    max_share: Decimal
    min_consecutive_days: int


@dataclass(frozen=True)
class Allowance:
    id: str
    unit: str
    amount: Decimal
    onsite: Onsite | None = None
    overdraw: str = "refuse"

    @property
    def onsite_cap(self) -> Decimal | None:
        return None if self.onsite is None else self.onsite.max_share * self.amount

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": self.id, "unit": self.unit, "amount": amount_text(self.amount)}
        if self.onsite is not None:
            doc["onsite"] = {
                "max_share": amount_text(self.onsite.max_share),
                "min_consecutive_days": self.onsite.min_consecutive_days,
            }
        if self.overdraw != "refuse":
            doc["overdraw"] = self.overdraw
        return doc


def parse_amount(value: Any, path: str, errors: list[FieldError]) -> Decimal:
    """A positive amount with at most 2 decimals, from a JSON number or a decimal string."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        errors.append(FieldError(path, "must be a number (or a decimal string)"))
    elif amount <= 0:
        errors.append(FieldError(path, "must be positive"))
    elif amount.as_tuple().exponent < -2:  # type: ignore[operator]
        errors.append(FieldError(path, "must have at most 2 decimals"))
    elif amount > MAX_AMOUNT:
        errors.append(FieldError(path, f"must be at most {MAX_AMOUNT}"))
    else:
        return amount
    return Decimal(0)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        # str() of a float is its shortest round-trip spelling: 6.5 stays 6.5.
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def amount_text(amount: Decimal) -> str:
    """The canonical spelling of an amount: no exponent, no trailing zeros past the point."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def parse_allowance(item: Any, path: str, errors: list[FieldError]) -> Allowance | None:
    if not isinstance(item, Mapping):
        errors.append(FieldError(path, "must be an object"))
        return None
    before = len(errors)
    errors.extend(
        FieldError(f"{path}.{k}", "unknown field") for k in item if k not in _ALLOWANCE_FIELDS
    )
    allowance_id = item.get("id")
    if (
        not isinstance(allowance_id, str)
        or not allowance_id.strip()
        or len(allowance_id) > MAX_NAME
    ):
        errors.append(FieldError(f"{path}.id", "required: a non-empty string"))
    if item.get("unit") not in UNITS:
        errors.append(FieldError(f"{path}.unit", f"required: one of {', '.join(UNITS)}"))
    amount = parse_amount(item.get("amount"), f"{path}.amount", errors)
    overdraw = item.get("overdraw", "refuse")
    if overdraw not in OVERDRAW:
        errors.append(FieldError(f"{path}.overdraw", f"must be one of {', '.join(OVERDRAW)}"))
    onsite = _onsite(item.get("onsite"), f"{path}.onsite", errors)
    if onsite is not None and item.get("unit") != "days":
        errors.append(FieldError(f"{path}.onsite", "applies to an allowance in days only"))
    if len(errors) > before:
        return None
    return Allowance(str(allowance_id), str(item["unit"]), amount, onsite, str(overdraw))


def _onsite(value: Any, path: str, errors: list[FieldError]) -> Onsite | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors.append(FieldError(path, "must be an object"))
        return None
    errors.extend(
        FieldError(f"{path}.{k}", "unknown field") for k in value if k not in _ONSITE_FIELDS
    )
    share = _decimal(value.get("max_share"))
    if share is None or not share.is_finite() or not 0 < share <= 1:
        errors.append(FieldError(f"{path}.max_share", "required: a number in (0, 1]"))
        share = Decimal(1)
    days = value.get("min_consecutive_days", 1)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        errors.append(FieldError(f"{path}.min_consecutive_days", "must be a whole number 1..366"))
        days = 1
    return Onsite(share, days)


def parse_allowances(value: Any, path: str, errors: list[FieldError]) -> list[Allowance]:
    """A list of allowances with distinct ids."""
    if not isinstance(value, list):
        errors.append(FieldError(path, "must be a list of allowances"))
        return []
    found: list[Allowance] = []
    for index, item in enumerate(value):
        allowance = parse_allowance(item, f"{path}[{index}]", errors)
        if allowance is None:
            continue
        if any(a.id == allowance.id for a in found):
            errors.append(FieldError(f"{path}[{index}].id", f"{allowance.id!r} is listed twice"))
        found.append(allowance)
    return found
