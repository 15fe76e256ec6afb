"""Policy documents: validation (every bad field named), canonical form, and the lookups."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import ValidationFailed
from domain.policy import Target, parse_policy, policy_document
from tests.unit.builders import BASE_POLICY, policy_doc

API_EXAMPLE: dict[str, Any] = {
    "name": "Isode Silver",
    "effective_from": "2026-01-01T00:00:00Z",
    "calendar": "uk-office",
    "priorities": ["P1", "P2", "P3", "P4"],
    "default_priority": "P3",
    "priority_rules": [
        {"when": {"kind": "feature_request"}, "priority": "P4"},
        {"when": {"channel": "email"}, "priority": "P3"},
    ],
    "calendar_overrides": {"P1": "24x7"},
    "warning_fraction": 0.75,
    "metrics": {
        "response": {
            "targets": {
                "P1": {"hours": 4},
                "P2": {"working_days": 1},
                "P3": {"working_days": 2},
                "P4": {"working_days": 2},
            }
        },
        "relief": {
            "targets": {"P1": {"hours": 12}},
            "pause_when_awaiting_customer": True,
            "objective": 0.9,
        },
        "resolution": {"targets": {"P1": {"working_days": 5}}},
    },
}


def bad_fields(doc: Any) -> set[str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(doc)
    return {error.field for error in caught.value.errors}


# --- what a valid document gives ----------------------------------------------


def test_api_example_parses_with_every_field() -> None:
    policy = parse_policy(API_EXAMPLE)
    assert policy.name == "Isode Silver"
    assert policy.calendar == "uk-office"
    assert policy.priorities == ("P1", "P2", "P3", "P4")
    assert policy.default_priority == "P3"
    assert policy.warning_fraction == 0.75
    assert list(policy.metrics) == ["response", "relief", "resolution"]
    assert policy.metrics["relief"].objective == 0.9
    assert policy.metrics["response"].objective is None


def test_effective_from_is_left_to_the_caller() -> None:
    with_it = parse_policy(API_EXAMPLE)
    without = parse_policy({k: v for k, v in API_EXAMPLE.items() if k != "effective_from"})
    assert with_it == without


def test_pause_defaults_are_false_for_response_and_true_for_relief_and_resolution() -> None:
    policy = parse_policy(BASE_POLICY)
    pauses = {name: m.pause_when_awaiting_customer for name, m in policy.metrics.items()}
    assert pauses == {"response": False, "relief": True, "resolution": True}


def test_pause_can_be_set_per_metric() -> None:
    metrics = {
        "response": {"targets": {"P1": {"hours": 1}}, "pause_when_awaiting_customer": True},
        "relief": {"targets": {"P1": {"hours": 1}}, "pause_when_awaiting_customer": False},
    }
    policy = parse_policy(policy_doc(metrics=metrics))
    assert policy.metrics["response"].pause_when_awaiting_customer is True
    assert policy.metrics["relief"].pause_when_awaiting_customer is False


def test_optional_fields_default() -> None:
    policy = parse_policy(policy_doc(priority_rules=None, calendar_overrides=None))
    assert policy.priority_rules == ()
    assert policy.calendar_overrides == {}
    assert policy.warning_fraction == 0.75


def test_metrics_keep_the_standard_order_whatever_the_document_order() -> None:
    metrics = {
        "resolution": {"targets": {"P1": {"hours": 9}}},
        "response": {"targets": {"P1": {"hours": 1}}},
    }
    assert list(parse_policy(policy_doc(metrics=metrics)).metrics) == ["response", "resolution"]


def test_one_metric_is_enough() -> None:
    policy = parse_policy(policy_doc(metrics={"relief": {"targets": {"P2": {"minutes": 90}}}}))
    assert list(policy.metrics) == ["relief"]


def test_canonical_document_round_trips() -> None:
    policy = parse_policy(API_EXAMPLE)
    document = policy_document(policy)
    assert parse_policy(document) == policy
    assert policy_document(parse_policy(document)) == document
    assert "effective_from" not in document
    assert document["metrics"]["resolution"] == {
        "targets": {"P1": {"working_days": 5}},
        "pause_when_awaiting_customer": True,
        "objective": None,
    }


def test_integral_float_amounts_are_one_spelling() -> None:
    metrics = {"response": {"targets": {"P1": {"hours": 2.0}}}}
    as_float = parse_policy(policy_doc(metrics=metrics))
    as_int = parse_policy(policy_doc(metrics={"response": {"targets": {"P1": {"hours": 2}}}}))
    assert as_float == as_int
    assert policy_document(as_float)["metrics"]["response"]["targets"]["P1"] == {"hours": 2}


# --- lookups ------------------------------------------------------------------


def test_referenced_calendars_are_the_base_and_every_override() -> None:
    assert parse_policy(API_EXAMPLE).referenced_calendars() == {"uk-office", "24x7"}


def test_calendar_for_uses_the_override_else_the_base() -> None:
    policy = parse_policy(API_EXAMPLE)
    assert policy.calendar_for("P1") == "24x7"
    assert policy.calendar_for("P2") == "uk-office"


def test_target_for_is_none_where_the_metric_gives_the_priority_none() -> None:
    policy = parse_policy(API_EXAMPLE)
    assert policy.target_for("relief", "P1") == Target("hours", 12)
    assert policy.target_for("relief", "P2") is None
    assert policy.target_for("no-such-metric", "P1") is None


def test_opened_naming_a_priority_wins_over_rules() -> None:
    policy = parse_policy(API_EXAMPLE)
    assert policy.initial_priority({"priority": "P1", "kind": "feature_request"}) == "P1"


def test_first_matching_rule_sets_the_initial_priority() -> None:
    policy = parse_policy(API_EXAMPLE)
    assert policy.initial_priority({"kind": "feature_request", "channel": "email"}) == "P4"
    assert policy.initial_priority({"kind": "incident", "channel": "email"}) == "P3"


def test_rule_must_match_every_field_it_names() -> None:
    rules = [{"when": {"kind": "incident", "environment": "production"}, "priority": "P2"}]
    policy = parse_policy(policy_doc(priority_rules=rules, default_priority="P4"))
    assert policy.initial_priority({"kind": "incident", "environment": "production"}) == "P2"
    assert policy.initial_priority({"kind": "incident", "environment": "staging"}) == "P4"
    assert policy.initial_priority({"kind": "incident"}) == "P4"


def test_rules_can_match_customer_and_plan() -> None:
    rules = [
        {"when": {"customer": "acme"}, "priority": "P1"},
        {"when": {"plan": "gold"}, "priority": "P2"},
    ]
    policy = parse_policy(policy_doc(priority_rules=rules))
    assert policy.initial_priority({"customer": "acme", "plan": "gold"}) == "P1"
    assert policy.initial_priority({"customer": "other", "plan": "gold"}) == "P2"


def test_no_rule_matching_gives_the_default_priority() -> None:
    policy = parse_policy(API_EXAMPLE)
    assert policy.initial_priority({"kind": "incident", "channel": "phone"}) == "P3"


# --- targets ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "hours_per_day", "seconds"),
    [
        (Target("minutes", 30), 8, 1800),
        (Target("hours", 4), 8, 14400),
        (Target("working_days", 1), 8.5, 30600),
        (Target("working_days", 3), 8.5, 91800),
        (Target("working_days", 2), 24, 172800),
        (Target("working_days", 0.5), 7.5, 13500),
        (Target("hours", 1 / 3), 8, 1200),  # float noise does not lose a second
        (Target("minutes", 1.51), 8, 90),  # 90.6 s: the fraction is truncated
    ],
)
def test_target_seconds(target: Target, hours_per_day: float, seconds: int) -> None:
    assert target.seconds(hours_per_day) == seconds


def test_target_is_at_least_one_second() -> None:
    assert Target("working_days", 0.001).seconds(0.1) == 1


# --- validation: every bad field named ------------------------------------------


def test_not_an_object() -> None:
    assert bad_fields(["P1"]) == {""}


def test_empty_document_names_every_required_field() -> None:
    assert bad_fields({}) == {"name", "calendar", "priorities", "default_priority", "metrics"}


def test_unknown_top_level_key() -> None:
    assert bad_fields(policy_doc(colour="blue")) == {"colour"}


@pytest.mark.parametrize("priorities", [[], "P1", None, [""], [1]])
def test_priorities_must_be_a_non_empty_list_of_names(priorities: Any) -> None:
    fields = bad_fields(policy_doc(priorities=priorities, default_priority="P1"))
    assert any(f.startswith("priorities") for f in fields)


def test_duplicate_priority() -> None:
    assert bad_fields(policy_doc(priorities=["P1", "P2", "P1", "P3", "P4"])) == {"priorities[2]"}


def test_bad_priorities_do_not_bury_the_error_under_every_reference() -> None:
    assert bad_fields(policy_doc(priorities="P1 P2")) == {"priorities"}


def test_default_priority_must_be_declared() -> None:
    assert bad_fields(policy_doc(default_priority="P9")) == {"default_priority"}


def test_rule_priority_must_be_declared() -> None:
    rules = [
        {"when": {"kind": "query"}, "priority": "P4"},
        {"when": {"kind": "incident"}, "priority": "P9"},
    ]
    assert bad_fields(policy_doc(priority_rules=rules)) == {"priority_rules[1].priority"}


def test_rule_when_keys_are_checked() -> None:
    rules = [
        {"when": {"colour": "red"}, "priority": "P1"},
        {"when": {}, "priority": "P1"},
        {"when": {"kind": "complaint"}, "priority": "P1"},
        {"when": {"channel": 7}, "priority": "P1"},
        {"when": {"channel": "email"}, "priority": "P1", "stop": True},
        "P1",
    ]
    assert bad_fields(policy_doc(priority_rules=rules)) == {
        "priority_rules[0].when.colour",
        "priority_rules[1].when",
        "priority_rules[2].when.kind",
        "priority_rules[3].when.channel",
        "priority_rules[4].stop",
        "priority_rules[5]",
    }


def test_priority_rules_must_be_a_list() -> None:
    assert bad_fields(policy_doc(priority_rules={"kind": "query"})) == {"priority_rules"}


def test_calendar_overrides_are_checked() -> None:
    overrides = {"P1": "24x7", "P9": "24x7", "P2": ""}
    assert bad_fields(policy_doc(calendar_overrides=overrides)) == {
        "calendar_overrides.P9",
        "calendar_overrides.P2",
    }
    assert bad_fields(policy_doc(calendar_overrides=["24x7"])) == {"calendar_overrides"}


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, "0.5", True, float("nan")])
def test_warning_fraction_is_strictly_between_zero_and_one(fraction: Any) -> None:
    assert bad_fields(policy_doc(warning_fraction=fraction)) == {"warning_fraction"}


def test_metrics_must_name_at_least_one_metric() -> None:
    assert bad_fields(policy_doc(metrics={})) == {"metrics"}


def test_unknown_metric() -> None:
    metrics = {"response": {"targets": {"P1": {"hours": 1}}}, "first_fix": {"targets": {}}}
    assert bad_fields(policy_doc(metrics=metrics)) == {"metrics.first_fix"}


def test_metric_fields_are_checked() -> None:
    metrics = {
        "response": {"targets": {"P1": {"hours": 1}}, "colour": "red"},
        "relief": {"targets": {"P1": {"hours": 1}}, "pause_when_awaiting_customer": "yes"},
        "resolution": {"targets": {"P1": {"hours": 1}}, "objective": 0},
    }
    assert bad_fields(policy_doc(metrics=metrics)) == {
        "metrics.response.colour",
        "metrics.relief.pause_when_awaiting_customer",
        "metrics.resolution.objective",
    }


@pytest.mark.parametrize("objective", [0, 1.01, -1, "0.9", False])
def test_objective_is_above_zero_and_at_most_one(objective: Any) -> None:
    metrics = {"relief": {"targets": {"P1": {"hours": 1}}, "objective": objective}}
    assert bad_fields(policy_doc(metrics=metrics)) == {"metrics.relief.objective"}


def test_objective_of_one_is_allowed() -> None:
    metrics = {"relief": {"targets": {"P1": {"hours": 1}}, "objective": 1}}
    assert parse_policy(policy_doc(metrics=metrics)).metrics["relief"].objective == 1.0


def test_every_bad_target_is_named() -> None:
    targets = {
        "P1": {"hours": 1},
        "P2": {"days": 1},
        "P3": {"hours": 1, "minutes": 5},
        "P4": {"minutes": 0},
        "P9": {"hours": 1},
    }
    metrics = {"response": {"targets": targets}, "relief": {"targets": {}}}
    assert bad_fields(policy_doc(metrics=metrics)) == {
        "metrics.response.targets.P2",
        "metrics.response.targets.P3",
        "metrics.response.targets.P4.minutes",
        "metrics.response.targets.P9",
        "metrics.relief.targets",
    }


@pytest.mark.parametrize(
    "target",
    [
        {"hours": -1},
        {"hours": "4"},
        {"hours": True},
        {"hours": float("inf")},
        {"working_days": 367},
        {"hours": 8761},
    ],
)
def test_target_amount_must_be_a_positive_bounded_number(target: dict[str, Any]) -> None:
    metrics = {"response": {"targets": {"P1": target}}}
    unit = next(iter(target))
    assert bad_fields(policy_doc(metrics=metrics)) == {f"metrics.response.targets.P1.{unit}"}


def test_target_under_one_second_is_rejected() -> None:
    metrics = {"response": {"targets": {"P1": {"minutes": 0.01}}}}
    assert bad_fields(policy_doc(metrics=metrics)) == {"metrics.response.targets.P1.minutes"}


def test_name_and_calendar_must_be_non_empty_strings() -> None:
    assert bad_fields(policy_doc(name="", calendar=5)) == {"name", "calendar"}
    assert bad_fields(policy_doc(name="x" * 129)) == {"name"}


def test_errors_from_every_part_are_reported_together() -> None:
    doc = policy_doc(
        default_priority="P0",
        warning_fraction=2,
        calendar_overrides={"P5": "24x7"},
        metrics={"response": {"targets": {"P1": {"weeks": 1}}}},
    )
    assert bad_fields(doc) == {
        "default_priority",
        "warning_fraction",
        "calendar_overrides.P5",
        "metrics.response.targets.P1",
    }


def test_null_optional_fields_mean_their_defaults() -> None:
    doc = policy_doc(priority_rules=[], calendar_overrides={})
    doc["warning_fraction"] = None
    doc["priority_rules"] = None
    doc["metrics"]["relief"]["objective"] = None
    policy = parse_policy(doc)
    assert policy.warning_fraction == 0.75
    assert policy.metrics["relief"].objective is None


# --- document sizes (issue 12: 40,000 priorities took 14.6 s to validate) ------------


def test_a_policy_may_declare_up_to_100_priorities() -> None:
    names = [f"P{n}" for n in range(100)]
    doc = policy_doc(
        priorities=names,
        default_priority="P0",
        metrics={"response": {"targets": {name: {"hours": 1} for name in names}}},
        calendar_overrides=dict.fromkeys(names, "24x7"),
    )
    assert len(parse_policy(doc).priorities) == 100


def test_more_than_100_priorities_is_one_error_naming_the_limit() -> None:
    names = [f"P{n}" for n in range(40_000)]
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(policy_doc(priorities=names, default_priority="P0"))
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("priorities", "at most 100 priorities")
    ]


def test_rules_overrides_and_targets_are_bounded_too() -> None:
    rule = {"when": {"kind": "query"}, "priority": "P4"}
    many = {f"X{n}": "24x7" for n in range(101)}
    doc = policy_doc(
        priority_rules=[rule] * 1001,
        calendar_overrides=many,
        metrics={"response": {"targets": {f"X{n}": {"hours": 1} for n in range(101)}}},
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(doc)
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("priority_rules", "at most 1000 rules"),
        ("calendar_overrides", "at most 100 entries"),
        ("metrics.response.targets", "at most 100 targets"),
    ]


def test_duplicate_priorities_are_each_named() -> None:
    assert bad_fields(policy_doc(priorities=["P1", "P2", "P1", "P3", "P4", "P2"])) == {
        "priorities[2]",
        "priorities[5]",
    }


# --- uptime terms ---------------------------------------------------------------

UPTIME = {
    "services": ["iam-platform"],
    "period": "month",
    "timezone": "Europe/London",
    "credits": [{"below": 0.99, "days": 14}, {"below": 0.999, "days": 7}],
    "claim_within_days": 30,
}


def test_uptime_terms_parse_and_come_back_canonical() -> None:
    policy = parse_policy({**API_EXAMPLE, "uptime": UPTIME})
    assert policy.uptime is not None
    assert policy.uptime.services == ("iam-platform",)
    assert [(t.below, t.days) for t in policy.uptime.credits] == [(0.999, 7), (0.99, 14)]
    document = policy_document(policy)
    assert document["uptime"]["credits"] == [
        {"below": 0.999, "days": 7},
        {"below": 0.99, "days": 14},
    ]
    assert parse_policy(document) == policy


def test_a_policy_without_uptime_keeps_its_document_exactly() -> None:
    document = policy_document(parse_policy(API_EXAMPLE))
    assert "uptime" not in document
    assert parse_policy({**API_EXAMPLE, "uptime": None}).uptime is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"services": []}, "uptime.services"),
        ({"services": ["a", "a"]}, "uptime.services[1]"),
        ({"services": ["bad id"]}, "uptime.services[0]"),
        ({"period": "week"}, "uptime.period"),
        ({"timezone": "Mars/Olympus"}, "uptime.timezone"),
        ({"timezone": None}, "uptime.timezone"),
        ({"credits": []}, "uptime.credits"),
        ({"credits": [{"below": 1.2, "days": 7}]}, "uptime.credits[0].below"),
        ({"credits": [{"below": 0.99, "days": 0}]}, "uptime.credits[0].days"),
        ({"credits": [{"below": 0.99, "days": 7, "x": 1}]}, "uptime.credits[0]"),
        ({"credits": [{"below": 0.99, "days": 7}] * 2}, "uptime.credits[1].below"),
        ({"claim_within_days": 0}, "uptime.claim_within_days"),
        ({"claim_within_days": True}, "uptime.claim_within_days"),
        ({"sla": 1}, "uptime.sla"),
    ],
)
def test_bad_uptime_terms_name_the_field(change: dict[str, Any], field: str) -> None:
    assert field in bad_fields({**API_EXAMPLE, "uptime": {**UPTIME, **change}})


def test_uptime_must_be_an_object() -> None:
    assert bad_fields({**API_EXAMPLE, "uptime": [1]}) == {"uptime"}
