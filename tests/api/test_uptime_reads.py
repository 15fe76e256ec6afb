"""Uptime and credit reads over real HTTP, on the IAM vendor's seed pack (seed 001).

Outages, contracts and claims are all posted through the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from service.cli.jobs import read_policy_file
from tests.api.conftest import unique
from tests.api.uptime_support import (
    claim,
    define_uptime_plan,
    end_contract,
    outage,
    post_outage,
    start_contract,
)
from tests.support.server import admin_client

SEED = Path(__file__).resolve().parents[2] / "policies" / "uk-iam-vendor.yaml"
PLAN, SERVICE = "uk-iam-vendor-standard", "iam-platform"
# As of 5 April 2026: March failed 99.9% (deadline 6 April), April already failed 99%.
AS_OF = "2026-04-05T12:00:00Z"


@pytest.fixture(scope="module")
def seeded(base_url: str, module_database_url: str) -> dict[str, str]:
    """The seed pack, the spec's March outages, an 8-hour April outage, and four contracts."""
    with admin_client(base_url) as http:
        seed = read_policy_file(SEED)
        for key, body in seed["calendars"].items():
            assert http.put(f"/v1/calendars/{key}", json=body).status_code in (200, 201)
        assert http.put(f"/v1/policies/{PLAN}", json=seed["policies"][PLAN]).status_code == 201
        post_outage(http, SERVICE, "2026-03-07T14:00:00Z", "2026-03-07T14:50:00Z")
        post_outage(http, SERVICE, "2026-03-20T10:00:00Z", "2026-03-20T10:10:00Z")
        post_outage(http, SERVICE, "2026-04-02T09:00:00+01:00", "2026-04-02T17:00:00+01:00")
    ids = {name: unique(name) for name in ("prompt", "late", "idle", "twice")}
    with admin_client(base_url) as http:
        for contract in ids.values():
            start_contract(http, contract, PLAN, "2026-01-01T00:00:00+00:00")
        ids["prompt-march"] = claim(
            http, ids["prompt"], "2026-04-02T08:00:00+00:00", SERVICE, "2026-03"
        )
        ids["prompt-april"] = claim(
            http, ids["prompt"], "2026-05-01T08:00:00+00:00", SERVICE, "2026-04"
        )
        claim(http, ids["late"], "2026-04-08T09:00:00+00:00", SERVICE, "2026-03")
        claim(http, ids["twice"], "2026-04-01T09:00:00+00:00", SERVICE, "2026-03")
        claim(http, ids["twice"], "2026-04-03T09:00:00+00:00", SERVICE, "2026-03")
    return ids


def months(client: httpx.Client, service: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/services/{service}/uptime", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["months"])


def test_the_spec_march_example_on_the_seed_plan(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    response = client.get(
        f"/v1/services/{SERVICE}/uptime",
        params={"from": "2026-02", "to": "2026-04", "as_of": "2026-04-30T00:00:00Z"},
    )
    body = response.json()
    assert (body["timezone"], body["plan"]) == ("Europe/London", PLAN)
    february, march, april = body["months"]
    assert (february["downtime_seconds"], february["tiers_failed"]) == (0, [])
    assert march["length_seconds"] == 2_674_800
    assert march["downtime_seconds"] == 3600
    assert round(march["uptime"] * 100, 3) == 99.865
    (tier,) = march["tiers_failed"]
    assert (tier["below"], tier["days"]) == (0.999, 7)
    assert tier["tipping_at"] == "2026-03-07T14:44:34Z"
    assert tier["tipping_outage"]["start"] == "2026-03-07T14:00:00Z"
    assert (march["credit_days"], march["claim_deadline"]) == (7, "2026-04-06T13:50:00Z")
    # April (30 days): 8 hours pass 99% (25,920 s allowed) too; only 14 days are earned.
    assert [t["days"] for t in april["tiers_failed"]] == [7, 14]
    assert (april["credit_days"], april["claim_deadline"]) == (14, "2026-05-02T16:00:00Z")


def test_a_timezone_parameter_changes_the_months(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    (march,) = months(client, SERVICE, **{"from": "2026-03", "to": "2026-03", "timezone": "UTC"})
    assert march["length_seconds"] == 31 * 86400
    assert march["start"] == "2026-03-01T00:00:00Z"


def test_the_seeds_credits_and_window(client: httpx.Client, seeded: dict[str, str]) -> None:
    prompt = client.get(
        f"/v1/contracts/{seeded['prompt']}/credits", params={"as_of": "2026-06-01T00:00:00Z"}
    ).json()
    verdicts = {c["event_id"]: (c["verdict"], c["reason"], c["days"]) for c in prompt["claims"]}
    assert verdicts[seeded["prompt-march"]] == ("credited", None, 7)
    assert verdicts[seeded["prompt-april"]] == ("credited", None, 14)
    late = client.get(f"/v1/contracts/{seeded['late']}/credits").json()
    assert [(c["verdict"], c["reason"]) for c in late["claims"]] == [("refused", "window_closed")]
    twice = client.get(f"/v1/contracts/{seeded['twice']}/credits").json()
    assert [c["reason"] for c in twice["claims"]] == [None, "duplicate"]
    march = next(m for m in twice["months"] if m["month"] == "2026-03")
    assert (march["eligible"], march["claimed"], march["claimable"]) == (True, True, False)


def test_contract_credits_read_as_of_and_as_known_at(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    early = client.get(
        f"/v1/contracts/{seeded['idle']}/credits", params={"as_of": "2026-03-07T14:30:00Z"}
    ).json()
    assert [m["month"] for m in early["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert early["months"][-1]["eligible"] is False
    assert (
        client.get(
            f"/v1/contracts/{seeded['idle']}/credits",
            params={"as_known_at": "2020-01-01T00:00:00Z"},
        ).status_code
        == 404
    )
    assert client.get(f"/v1/contracts/{unique('none')}/credits").status_code == 404


def test_claimable_credits_soonest_deadline_first(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    response = client.get("/v1/credits", params={"state": "claimable", "as_of": AS_OF})
    assert response.status_code == 200, response.text
    mine = [c for c in response.json()["credits"] if c["contract_id"] in seeded.values()]
    idle = [
        (c["month"], c["days"], c["claim_deadline"])
        for c in mine
        if c["contract_id"] == seeded["idle"]
    ]
    assert idle == [("2026-03", 7, "2026-04-06T13:50:00Z"), ("2026-04", 14, "2026-05-02T16:00:00Z")]
    deadlines = [c["claim_deadline"] for c in response.json()["credits"]]
    assert deadlines == sorted(deadlines)
    # Claimed months are not claimable: "prompt" had claimed March by then, "twice" too.
    assert {(c["contract_id"], c["month"]) for c in mine} >= {(seeded["prompt"], "2026-04")}
    assert (seeded["prompt"], "2026-03") not in {(c["contract_id"], c["month"]) for c in mine}
    assert client.get("/v1/credits", params={"state": "all"}).status_code == 422


def test_a_late_outage_event_changes_uptime_and_as_known_at_reads_before_it(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    service = unique("svc")
    define_uptime_plan(client, unique("plan"), service)
    post_outage(client, service, "2026-05-10T10:00:00Z", "2026-05-10T10:30:00Z")
    before = client.get(f"/v1/services/{service}/events").json()["events"][-1]["recorded_at"]
    late = outage(client, service, "late-s", "started", "2026-05-03T10:00:00Z")
    assert late.status_code == 201
    assert outage(client, service, "late-e", "ended", "2026-05-03T11:00:00Z").status_code == 201
    params = {"from": "2026-05", "to": "2026-05", "as_of": "2026-06-01T00:00:00Z"}
    (now,) = months(client, service, **params)
    (then,) = months(client, service, **params, as_known_at=before)
    assert (then["downtime_seconds"], then["tiers_failed"]) == (1800, [])
    assert now["downtime_seconds"] == 5400
    assert now["tiers_failed"][0]["tipping_at"] == "2026-05-03T10:44:38Z"


def test_bad_uptime_queries_are_422_or_404(client: httpx.Client, seeded: dict[str, str]) -> None:
    path = f"/v1/services/{SERVICE}/uptime"
    assert client.get(path, params={"from": "2026-04", "to": "2026-03"}).status_code == 422
    assert client.get(path, params={"from": "2026-13", "to": "2026-13"}).status_code == 422
    assert client.get(path, params={"from": "2026-01"}).status_code == 422
    assert client.get(path, params={"from": "2000-01", "to": "2026-01"}).status_code == 422
    assert (
        client.get(
            path, params={"from": "2026-01", "to": "2026-01", "timezone": "Mars/x"}
        ).status_code
        == 422
    )
    assert (
        client.get(
            path, params={"from": "2026-01", "to": "2026-01", "as_of": "2026-01-01T00:00:00"}
        ).status_code
        == 422
    )
    assert (
        client.get(
            f"/v1/services/{unique('nope')}/uptime", params={"from": "2026-01", "to": "2026-01"}
        ).status_code
        == 404
    )


def test_metrics_carry_each_services_month_to_date_uptime(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    text = client.get("/metrics").text
    assert f'slaclock_service_uptime_ratio{{service="{SERVICE}"}} 1.0' in text
    assert "# TYPE slaclock_service_downtime_seconds gauge" in text


def test_a_service_a_plan_names_is_up_until_an_outage_is_posted(client: httpx.Client) -> None:
    service = unique("quiet")
    define_uptime_plan(client, unique("plan"), service, zone="America/New_York")
    (march,) = months(client, service, **{"from": "2026-03", "to": "2026-03"})
    assert (march["uptime"], march["downtime_seconds"], march["tiers_failed"]) == (1.0, 0, [])
    assert march["length_seconds"] == 31 * 86400 - 3600  # New York springs forward on 8 March


def test_months_after_a_contract_ended_earn_nothing(
    client: httpx.Client, seeded: dict[str, str], module_database_url: str
) -> None:
    contract = unique("ended")
    start_contract(client, contract, PLAN, "2026-01-01T00:00:00+00:00")
    end_contract(client, contract, "2026-02-15T00:00:00+00:00")
    claim(client, contract, "2026-04-02T08:00:00+00:00", SERVICE, "2026-03")
    credits = client.get(f"/v1/contracts/{contract}/credits").json()
    assert [m["month"] for m in credits["months"]] == ["2026-01", "2026-02"]
    assert [(c["verdict"], c["reason"]) for c in credits["claims"]] == [("refused", "no_failure")]


def test_claims_posted_over_http_refuse_bad_input_and_store_nothing(
    client: httpx.Client, seeded: dict[str, str]
) -> None:
    contract = unique("strict")
    start_contract(client, contract, PLAN, "2026-01-01T00:00:00+00:00")
    base = {"type": "credit_claimed", "occurred_at": "2026-04-05T12:00:00Z"}
    cases = {
        "data.evidence": {"service": SERVICE, "period": "2026-03"},
        "data.period": {"service": SERVICE, "period": "2026-05", "evidence": "shot"},
        "occurred_at": {"service": SERVICE, "period": "2026-03", "evidence": "shot"},
    }
    for n, (field, data) in enumerate(cases.items()):
        body = {**base, "event_id": f"bad-{n}", "data": data}
        if field == "occurred_at":
            body["occurred_at"] = "2026-04-05T12:00:00"  # naive
        answer = client.post(f"/v1/contracts/{contract}/events", json=body)
        assert answer.status_code == 422, answer.text
        assert field in [e["field"] for e in answer.json()["errors"]]
    history = client.get(f"/v1/contracts/{contract}/events").json()["events"]
    assert [e["type"] for e in history] == ["contract_started"]
