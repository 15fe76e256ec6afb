"""Each event type's body, as JSON Schema: one ``oneOf`` branch per ``type``.

The domain validates ``data`` by hand (domain/events.py, contract_payloads.py,
service_events.py); these schemas say the same thing to clients. Two of its
rules shape every branch: a ``null`` field counts as absent, so optional fields
and unknown keys may be ``null``; text must hold a non-space character.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.contract_events import ContractEventType
from domain.events import MAX_NAME, MAX_SEQUENCE, MAX_TEXT, EventType, TicketKind
from domain.service_events import ServiceEventType
from service.apidoc.instants import INSTANT_SCHEMA

Schema = dict[str, Any]

NAME: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": r"\S"}
TEXT: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"\S"}
ATTRIBUTES: Schema = {
    "type": "object",
    "description": "free-form JSON of at most 4 KB, stored and returned, never interpreted",
}
_NOTE = {"actor": NAME, "note": TEXT}


def _optional(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def data_schema(
    fields: Mapping[str, Schema], required: Iterable[str] = (), *, any_of: Iterable[str] = ()
) -> Schema:
    """An event's ``data``: the listed fields, nulls for absent ones, nothing else."""
    needed = list(required)
    schema: Schema = {
        "type": "object",
        "properties": {k: v if k in needed else _optional(v) for k, v in fields.items()},
        "additionalProperties": {"type": "null"},
    }
    if needed:
        schema["required"] = needed
    one_of = list(any_of)
    if one_of:  # at least one of these, not null
        schema["anyOf"] = [{"required": [k], "properties": {k: fields[k]}} for k in one_of]
    return schema


def _branch(kind: str, base: Mapping[str, Schema], data: Schema, data_required: bool) -> Schema:
    properties = {**base, "type": {"const": kind}, "data": data}
    required = ["event_id", "type", "occurred_at"] + (["data"] if data_required else [])
    return {
        "title": kind,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _base(example: str) -> dict[str, Schema]:
    return {
        "event_id": {"type": "string", "minLength": 1, "maxLength": 128, "examples": [example]},
        "occurred_at": {**INSTANT_SCHEMA, "description": "RFC 3339 with an offset"},
    }


def _ticket_data(kind: EventType) -> Schema:
    if kind is EventType.OPENED:
        fields = {
            "plan": NAME,
            "contract": NAME,
            "customer": NAME,
            "priority": NAME,
            "kind": {"enum": [k.value for k in TicketKind], "default": "incident"},
            "channel": NAME,
            "environment": NAME,
            "attributes": ATTRIBUTES,
        }
        return data_schema(fields, any_of=("plan", "contract", "customer"))
    if kind is EventType.PRIORITY_CHANGED:
        fields = {"priority": NAME, "reason": TEXT, "attributes": ATTRIBUTES}
        return data_schema(fields, required=("priority",))
    return data_schema({**_NOTE, "attributes": ATTRIBUTES})


def ticket_event_schema() -> Schema:
    """``POST /v1/tickets/{id}/events``: the nine types, each with its ``data``."""
    sequence: Schema = {
        "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_SEQUENCE}, {"type": "null"}],
        "description": "the source's own order among this ticket's events at the same"
        " occurred_at (e.g. ServiceNow's sys_mod_count); part of the body",
    }
    base = {**_base("evt-000123"), "sequence": sequence}
    branches = [_branch(k.value, base, _ticket_data(k), k is EventType.OPENED) for k in EventType]
    return {"title": "EventIn", "oneOf": branches}


_AMOUNT: Schema = {
    "anyOf": [{"type": "number"}, {"type": "string"}],
    "description": "hours or days, a decimal number (or its text)",
}
_TERM: Schema = {
    "type": "object",
    "description": "start (a date), months, timezone, optional auto_renew and notice_days",
}
_ALLOWANCES: Schema = {
    "type": "array",
    "description": "whole allowances, or {id, template} naming one the plan offers",
}
T = ContractEventType
_CONTRACT_FIELDS: dict[ContractEventType, dict[str, Schema]] = {
    T.STARTED: {
        "customer": NAME,
        "plan": NAME,
        "calendar": NAME,
        "term": _TERM,
        "allowances": _ALLOWANCES,
    },
    T.AMENDED: {"plan": NAME, "calendar": NAME, "allowances": _ALLOWANCES},
    T.RENEWAL_CANCELLED: {"reason": TEXT},
    T.ENDED: {"reason": TEXT},
    T.WORK_LOGGED: {
        "allowance": NAME,
        "amount": _AMOUNT,
        "onsite": {"type": "boolean"},
        "ticket_id": NAME,
        "actor": NAME,
        "note": TEXT,
    },
    T.WORK_RETRACTED: {"event_id": NAME, "reason": TEXT},
    T.SLA_SUSPENDED: {"reason": TEXT},
    T.SLA_REINSTATED: {"reason": TEXT},
    T.CREDIT_CLAIMED: {
        "service": NAME,
        "period": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
        "evidence": TEXT,
    },
}
_CONTRACT_REQUIRED: dict[ContractEventType, tuple[str, ...]] = {
    T.STARTED: ("customer", "plan", "term"),
    T.WORK_LOGGED: ("allowance", "amount"),
    T.WORK_RETRACTED: ("event_id", "reason"),
    T.SLA_SUSPENDED: ("reason",),
    T.CREDIT_CLAIMED: ("service", "period", "evidence"),
}


def _contract_data(kind: ContractEventType) -> Schema:
    required = _CONTRACT_REQUIRED.get(kind, ())
    any_of = ("plan", "calendar", "allowances") if kind is T.AMENDED else ()
    return data_schema(_CONTRACT_FIELDS[kind], required, any_of=any_of)


def contract_event_schema() -> Schema:
    """``POST /v1/contracts/{id}/events``: the nine contract types, each with its ``data``."""
    base = _base("con-evt-1")
    branches = [
        _branch(k.value, base, _contract_data(k), bool(_CONTRACT_REQUIRED.get(k)) or k is T.AMENDED)
        for k in ContractEventType
    ]
    return {"title": "ContractEventIn", "oneOf": branches}


def service_event_schema() -> Schema:
    """``POST /v1/services/{id}/events``: outage_started or outage_ended."""
    data = data_schema({"actor": NAME, "source": NAME, "note": TEXT})
    base = _base("alert-7f3a")
    branches = [_branch(k.value, base, data, False) for k in ServiceEventType]
    return {"title": "ServiceEventIn", "oneOf": branches}
