"""The ``data`` each contract event type accepts, validated and normalised.

Normalised means: nulls dropped, amounts spelled as decimal strings, nested
objects rebuilt in a fixed key order, so that a retry of the same body has the
same fingerprint. What needs the catalog (does the plan exist? the template?)
is checked by the writer, against what is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from domain.allowance_spec import amount_text, parse_allowance, parse_amount
from domain.contract_events import ContractEventType
from domain.contract_terms import parse_term
from domain.errors import FieldError, ValidationFailed
from domain.events import MAX_NAME, MAX_TEXT

T = ContractEventType
_FIELDS: dict[ContractEventType, frozenset[str]] = {
    T.STARTED: frozenset({"customer", "plan", "calendar", "term", "allowances"}),
    T.AMENDED: frozenset({"plan", "calendar", "allowances"}),
    T.RENEWAL_CANCELLED: frozenset({"reason"}),
    T.ENDED: frozenset({"reason"}),
    T.WORK_LOGGED: frozenset({"allowance", "amount", "onsite", "ticket_id", "actor", "note"}),
    T.WORK_RETRACTED: frozenset({"event_id", "reason"}),
    T.SLA_SUSPENDED: frozenset({"reason"}),
    T.SLA_REINSTATED: frozenset({"reason"}),
    T.CREDIT_CLAIMED: frozenset({"service", "period", "evidence"}),
}
_REQUIRED: dict[ContractEventType, tuple[str, ...]] = {
    T.STARTED: ("customer", "plan", "term"),
    T.WORK_LOGGED: ("allowance", "amount"),
    T.WORK_RETRACTED: ("event_id", "reason"),
    T.SLA_SUSPENDED: ("reason",),
    T.CREDIT_CLAIMED: ("service", "period", "evidence"),
}
_NAMES = ("customer", "plan", "calendar", "allowance", "ticket_id", "actor", "event_id", "service")
_TEXTS = ("reason", "note", "evidence")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_TYPES = {t.value: t for t in ContractEventType}


def parse_contract_event_type(value: str) -> ContractEventType:
    try:
        return _TYPES[value]
    except KeyError:
        allowed = ", ".join(_TYPES)
        raise ValidationFailed.single(
            "type", f"unknown contract event type; one of {allowed}"
        ) from None


def validate_contract_data(kind: ContractEventType, data: Mapping[str, Any]) -> dict[str, Any]:
    """Check a contract event's ``data``; every bad field is reported at once."""
    errors: list[FieldError] = []
    clean = {k: v for k, v in data.items() if v is not None}
    errors.extend(
        FieldError(f"data.{k}", "is not a field of this event type")
        for k in sorted(set(clean) - _FIELDS[kind])
    )
    errors.extend(
        FieldError(f"data.{k}", "is required") for k in _REQUIRED.get(kind, ()) if k not in clean
    )
    for key in _NAMES:
        _text(clean, key, MAX_NAME, errors)
    for key in _TEXTS:
        _text(clean, key, MAX_TEXT, errors)
    _nested(kind, clean, errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def _nested(kind: ContractEventType, clean: dict[str, Any], errors: list[FieldError]) -> None:
    if kind is T.AMENDED and not clean.keys() & {"plan", "calendar", "allowances"}:
        errors.append(FieldError("data", "names none of plan, calendar, allowances"))
    if "term" in clean:
        term = parse_term(clean["term"], "data.term", errors)
        if term is not None:
            clean["term"] = term.document()
    if "allowances" in clean:
        clean["allowances"] = _contract_allowances(clean["allowances"], errors)
    if "amount" in clean:
        amount = parse_amount(clean["amount"], "data.amount", errors)
        clean["amount"] = amount_text(amount)
        if clean.get("onsite") is True and amount != amount.to_integral_value():
            errors.append(FieldError("data.amount", "onsite work is counted in whole days"))
    if "onsite" in clean and not isinstance(clean["onsite"], bool):
        errors.append(FieldError("data.onsite", "must be true or false"))
    period = clean.get("period")
    if period is not None and not (isinstance(period, str) and _PERIOD.fullmatch(period)):
        errors.append(FieldError("data.period", "required: a month YYYY-MM"))


def _contract_allowances(value: Any, errors: list[FieldError]) -> list[dict[str, Any]]:
    """Each item is a whole allowance, or ``{"id", "template"}`` naming one the plan offers."""
    if not isinstance(value, list):
        errors.append(FieldError("data.allowances", "must be a list of allowances"))
        return []
    found: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        path = f"data.allowances[{index}]"
        if isinstance(item, Mapping) and "template" in item:
            doc = _template_ref(item, path, errors)
        else:
            allowance = parse_allowance(item, path, errors)
            doc = None if allowance is None else allowance.document()
        if doc is None:
            continue
        if any(d["id"] == doc["id"] for d in found):
            errors.append(FieldError(f"{path}.id", f"{doc['id']!r} is listed twice"))
        found.append(doc)
    return found


def _template_ref(
    item: Mapping[str, Any], path: str, errors: list[FieldError]
) -> dict[str, Any] | None:
    before = len(errors)
    errors.extend(
        FieldError(f"{path}.{k}", "unknown field beside template")
        for k in item
        if k not in ("id", "template")
    )
    for key in ("id", "template"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
            errors.append(FieldError(f"{path}.{key}", "required: a non-empty string"))
    if len(errors) > before:
        return None
    return {"id": item["id"], "template": item["template"]}


def _text(clean: Mapping[str, Any], key: str, limit: int, errors: list[FieldError]) -> None:
    value = clean.get(key)
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(f"data.{key}", "must be a non-empty string"))
    elif len(value) > limit:
        errors.append(FieldError(f"data.{key}", f"must be at most {limit} characters"))
