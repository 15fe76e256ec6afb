"""Support-plan policies: the document a client PUTs, validated into a Policy.

A policy names the plan's priorities, how a new ticket gets its first one, the
calendar each priority is measured on, and each metric's target per priority.
Calendar existence is not checked here: the caller looks up
``Policy.referenced_calendars()`` against what it has stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.allowance_spec import Allowance, parse_allowance, parse_allowances
from domain.errors import FieldError, ValidationFailed
from domain.events import MAX_NAME, TicketKind
from domain.uptime_terms import UptimeTerms, read_uptime_terms, uptime_document

METRICS = ("response", "relief", "resolution")
# Response measures first contact, which waiting on the customer does not delay.
PAUSES_BY_DEFAULT = {"response": False, "relief": True, "resolution": True}
DEFAULT_WARNING_FRACTION = 0.75
RULE_FIELDS = ("kind", "channel", "environment", "customer", "plan")

UNIT_SECONDS = {"minutes": 60, "hours": 3600}
WORKING_DAYS = "working_days"
# About one year of business time in each unit: a longer SLA target is a typo,
# and unbounded ones would push due instants past datetime's range.
MAX_AMOUNT = {"minutes": 525_600, "hours": 8_760, WORKING_DAYS: 366}
# Document sizes: far above any real plan, low enough that validating and
# evaluating a policy stays cheap (issue 12: 40,000 priorities froze ingest).
MAX_PRIORITIES = 100
MAX_PRIORITY_RULES = 1000

_TOP_LEVEL = {
    "name",
    "calendar",
    "priorities",
    "default_priority",
    "priority_rules",
    "calendar_overrides",
    "warning_fraction",
    "metrics",
    "uptime",
    "allowances",
    "allowance_templates",
    # Versioning metadata: the caller reads it; it is not part of the policy.
    "effective_from",
}
_METRIC_FIELDS = {"targets", "pause_when_awaiting_customer", "objective"}


@dataclass(frozen=True)
class Target:
    """One target: ``amount`` of ``unit`` (minutes, hours or working_days) of business time."""

    unit: str
    amount: int | float

    def seconds(self, hours_per_working_day: float) -> int:
        """Whole business seconds: a fraction of a second is truncated; at least 1."""
        factor = UNIT_SECONDS.get(self.unit, hours_per_working_day * 3600)
        # Rounding first keeps float noise (1/3 h = 1199.999…s) from losing a second.
        return max(1, math.floor(round(self.amount * factor, 6)))

    def document(self) -> dict[str, int | float]:
        return {self.unit: self.amount}


@dataclass(frozen=True)
class MetricPolicy:
    name: str
    targets: dict[str, Target]
    pause_when_awaiting_customer: bool
    objective: float | None = None


@dataclass(frozen=True)
class PriorityRule:
    """Sets the initial priority of an ``opened`` event whose data matches every field."""

    when: dict[str, str]
    priority: str

    def matches(self, opened_data: Mapping[str, Any]) -> bool:
        return all(opened_data.get(key) == value for key, value in self.when.items())


@dataclass(frozen=True)
class Policy:
    name: str
    calendar: str
    priorities: tuple[str, ...]
    default_priority: str
    metrics: dict[str, MetricPolicy]
    priority_rules: tuple[PriorityRule, ...] = ()
    calendar_overrides: dict[str, str] = field(default_factory=dict)
    warning_fraction: float = DEFAULT_WARNING_FRACTION
    # The plan's service-uptime guarantee, if it makes one (docs/uptime.md).
    uptime: UptimeTerms | None = None
    # Granted to every contract on the plan, each term (support hours).
    allowances: tuple[Allowance, ...] = ()
    # Offered: a contract picks one by name (Ivanti's TRM levels).
    allowance_templates: dict[str, Allowance] = field(default_factory=dict)

    def referenced_calendars(self) -> set[str]:
        return {self.calendar, *self.calendar_overrides.values()}

    def initial_priority(self, opened_data: Mapping[str, Any]) -> str:
        """The priority ``opened`` names, else the first matching rule's, else the default."""
        named = opened_data.get("priority")
        if isinstance(named, str):
            return named
        for rule in self.priority_rules:
            if rule.matches(opened_data):
                return rule.priority
        return self.default_priority

    def calendar_for(self, priority: str, contract_calendar: str | None = None) -> str:
        """The priority's override, else the contract's calendar (the region), else the plan's."""
        return self.calendar_overrides.get(priority, contract_calendar or self.calendar)

    def target_for(self, metric: str, priority: str) -> Target | None:
        metric_policy = self.metrics.get(metric)
        return None if metric_policy is None else metric_policy.targets.get(priority)


# --- validation ---------------------------------------------------------------


def parse_policy(doc: Mapping[str, Any]) -> Policy:
    """Validate a ``PUT /v1/policies/{plan_id}`` body; every bad field is reported at once."""
    if not isinstance(doc, Mapping):
        raise ValidationFailed.single("", "must be a JSON object")
    reader = _Reader()
    reader.errors.extend(
        FieldError(str(key), "unknown field") for key in doc if key not in _TOP_LEVEL
    )
    name = reader.name(doc.get("name"), "name")
    calendar = reader.name(doc.get("calendar"), "calendar")
    priorities = reader.priorities(doc.get("priorities"))
    default = reader.declared(doc.get("default_priority"), "default_priority")
    rules = reader.rules(_optional(doc, "priority_rules", []))
    overrides = reader.overrides(_optional(doc, "calendar_overrides", {}))
    fraction = reader.fraction(_optional(doc, "warning_fraction", DEFAULT_WARNING_FRACTION))
    metrics = reader.metrics(doc.get("metrics"))
    allowances = parse_allowances(_optional(doc, "allowances", []), "allowances", reader.errors)
    templates = _templates(_optional(doc, "allowance_templates", {}), reader.errors)
    uptime: UptimeTerms | None = None
    if doc.get("uptime") is not None:
        uptime, uptime_errors = read_uptime_terms(doc["uptime"], "uptime")
        reader.errors.extend(uptime_errors)
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return Policy(
        name,
        calendar,
        priorities,
        default,
        metrics,
        rules,
        overrides,
        fraction,
        uptime,
        tuple(allowances),
        templates,
    )


def _templates(value: Any, errors: list[FieldError]) -> dict[str, Allowance]:
    """``{name: allowance}``; a template's ``id`` is its name (the contract names its own)."""
    if not isinstance(value, Mapping):
        errors.append(FieldError("allowance_templates", "must be an object of allowances"))
        return {}
    found = {}
    for name, item in value.items():
        body = {"id": name, **item} if isinstance(item, Mapping) else item
        allowance = parse_allowance(body, f"allowance_templates.{name}", errors)
        if allowance is not None:
            found[str(name)] = allowance
    return found


def policy_document(policy: Policy) -> dict[str, Any]:
    """The canonical JSON form of a version (what GET returns); ``parse_policy`` takes it back.

    ``uptime`` appears only when the plan has terms, so every version stored before
    uptime terms existed keeps its exact document (and a re-PUT stays unchanged).
    """
    document = _ticket_document(policy)
    if policy.uptime is not None:
        document["uptime"] = uptime_document(policy.uptime)
    return document


def _ticket_document(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "calendar": policy.calendar,
        "priorities": list(policy.priorities),
        "default_priority": policy.default_priority,
        "priority_rules": [
            {"when": dict(rule.when), "priority": rule.priority} for rule in policy.priority_rules
        ],
        "calendar_overrides": dict(policy.calendar_overrides),
        "warning_fraction": policy.warning_fraction,
        "metrics": {
            name: {
                "targets": {p: t.document() for p, t in metric.targets.items()},
                "pause_when_awaiting_customer": metric.pause_when_awaiting_customer,
                "objective": metric.objective,
            }
            for name, metric in policy.metrics.items()
        },
        **_allowance_documents(policy),
    }


def _allowance_documents(policy: Policy) -> dict[str, Any]:
    """Only when the plan has some, so that documents without allowances read as before."""
    found: dict[str, Any] = {}
    if policy.allowances:
        found["allowances"] = [a.document() for a in policy.allowances]
    if policy.allowance_templates:
        found["allowance_templates"] = {
            name: {k: v for k, v in a.document().items() if k != "id"}
            for name, a in policy.allowance_templates.items()
        }
    return found


def _optional(doc: Mapping[str, Any], key: str, default: Any) -> Any:
    """An optional field; an explicit null means the default (GET writes a missing objective so)."""
    value = doc.get(key)
    return default if value is None else value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Reader:
    """Reads one policy document, collecting every bad field instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        # None while the priorities themselves are unusable: checking names against
        # them would only bury the real error under one per reference.
        self.known: set[str] | None = None

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def unknown_keys(self, item: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in item:
            if key not in allowed:
                self.fail(f"{path}.{key}", "unknown field")

    def name(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
            self.fail(path, f"required: a non-empty string of at most {MAX_NAME} characters")
            return ""
        return value

    def too_many(self, value: Any, limit: int, path: str, what: str) -> bool:
        if len(value) > limit:
            self.fail(path, f"at most {limit} {what}")
            return True
        return False

    def priorities(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.fail("priorities", "required: a non-empty list of priority names")
            return ()
        if self.too_many(value, MAX_PRIORITIES, "priorities", "priorities"):
            return ()
        before, seen = len(self.errors), dict[str, None]()  # a dict: ordered, O(1) lookups
        for index, item in enumerate(value):
            path = f"priorities[{index}]"
            if not self.name(item, path):
                continue
            if item in seen:
                self.fail(path, f"duplicate priority {item!r}")
            else:
                seen[item] = None
        if len(self.errors) == before:
            self.known = set(seen)
        return tuple(seen)

    def is_declared(self, value: Any) -> bool:
        return isinstance(value, str) and (self.known is None or value in self.known)

    def declared(self, value: Any, path: str) -> str:
        if not self.is_declared(value):
            self.fail(path, f"must be one of the declared priorities, not {value!r}")
            return ""
        return str(value)

    def rules(self, value: Any) -> tuple[PriorityRule, ...]:
        if not isinstance(value, list):
            self.fail("priority_rules", "must be a list of {when, priority} objects")
            return ()
        if self.too_many(value, MAX_PRIORITY_RULES, "priority_rules", "rules"):
            return ()
        rules = (self.rule(item, f"priority_rules[{index}]") for index, item in enumerate(value))
        return tuple(rule for rule in rules if rule is not None)

    def rule(self, item: Any, path: str) -> PriorityRule | None:
        if not isinstance(item, Mapping):
            self.fail(path, "must be an object {when, priority}")
            return None
        before = len(self.errors)
        self.unknown_keys(item, {"when", "priority"}, path)
        when = self.when(item.get("when"), f"{path}.when")
        priority = self.declared(item.get("priority"), f"{path}.priority")
        return PriorityRule(when, priority) if len(self.errors) == before else None

    def when(self, value: Any, path: str) -> dict[str, str]:
        if not isinstance(value, Mapping) or not value:
            self.fail(path, f"required: an object naming some of {', '.join(RULE_FIELDS)}")
            return {}
        kinds = [k.value for k in TicketKind]
        for key, wanted in value.items():
            where = f"{path}.{key}"
            if key not in RULE_FIELDS:
                self.fail(where, f"unknown field; one of {', '.join(RULE_FIELDS)}")
            elif self.name(wanted, where) and key == "kind" and wanted not in kinds:
                self.fail(where, f"must be one of {', '.join(kinds)}")
        return dict(value)

    def overrides(self, value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping):
            self.fail("calendar_overrides", "must map priorities to calendar ids")
            return {}
        if self.too_many(value, MAX_PRIORITIES, "calendar_overrides", "entries"):
            return {}
        overrides = {}
        for priority, calendar in value.items():
            path = f"calendar_overrides.{priority}"
            if not self.is_declared(priority):
                self.fail(path, "is not a declared priority")
            elif self.name(calendar, path):
                overrides[priority] = calendar
        return overrides

    def fraction(self, value: Any) -> float:
        if not _is_number(value) or not 0 < value < 1:
            self.fail("warning_fraction", "must be a number > 0 and < 1")
            return DEFAULT_WARNING_FRACTION
        return float(value)

    def metrics(self, value: Any) -> dict[str, MetricPolicy]:
        if not isinstance(value, Mapping) or not value:
            self.fail("metrics", f"required: an object defining some of {', '.join(METRICS)}")
            return {}
        metrics = {}
        for name, item in value.items():
            if name not in METRICS:
                self.fail(f"metrics.{name}", f"unknown metric; one of {', '.join(METRICS)}")
                continue
            metric = self.metric(name, item)
            if metric is not None:
                metrics[name] = metric
        # The standard order, whatever order the document used.
        return {name: metrics[name] for name in METRICS if name in metrics}

    def metric(self, name: str, item: Any) -> MetricPolicy | None:
        path = f"metrics.{name}"
        if not isinstance(item, Mapping):
            self.fail(path, "must be an object with targets")
            return None
        before = len(self.errors)
        self.unknown_keys(item, _METRIC_FIELDS, path)
        targets = self.targets(item.get("targets"), f"{path}.targets")
        pauses = _optional(item, "pause_when_awaiting_customer", PAUSES_BY_DEFAULT[name])
        if not isinstance(pauses, bool):
            self.fail(f"{path}.pause_when_awaiting_customer", "must be true or false")
        objective = item.get("objective")
        if objective is not None and (not _is_number(objective) or not 0 < objective <= 1):
            self.fail(f"{path}.objective", "must be a number > 0 and <= 1")
        if len(self.errors) > before:
            return None
        return MetricPolicy(name, targets, pauses, None if objective is None else float(objective))

    def targets(self, value: Any, path: str) -> dict[str, Target]:
        if not isinstance(value, Mapping) or not value:
            self.fail(path, "required: an object mapping priorities to targets")
            return {}
        if self.too_many(value, MAX_PRIORITIES, path, "targets"):
            return {}
        targets = {}
        for priority, item in value.items():
            where = f"{path}.{priority}"
            if not self.is_declared(priority):
                self.fail(where, "is not a declared priority")
                continue
            target = self.target(item, where)
            if target is not None:
                targets[priority] = target
        return targets

    def target(self, item: Any, path: str) -> Target | None:
        units = (*UNIT_SECONDS, WORKING_DAYS)
        if not isinstance(item, Mapping) or len(item) != 1 or next(iter(item)) not in units:
            shapes = ", ".join(f'{{"{unit}": n}}' for unit in units)
            self.fail(path, f"must be exactly one of {shapes}")
            return None
        unit, amount = next(iter(item.items()))
        if not _is_number(amount) or not 0 < amount <= MAX_AMOUNT[unit]:
            self.fail(f"{path}.{unit}", f"must be a number > 0 and <= {MAX_AMOUNT[unit]}")
            return None
        if unit in UNIT_SECONDS and amount * UNIT_SECONDS[unit] < 1:
            self.fail(f"{path}.{unit}", "must come to at least one second")
            return None
        # 2.0 and 2 are the same target: one spelling, so that versions compare equal.
        return Target(unit, int(amount) if float(amount).is_integer() else float(amount))
