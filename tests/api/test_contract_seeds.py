"""The seed packs' contracts through the HTTP API: SoftwareIDM hours, Ivanti TRM, regions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.api.conftest import unique
from tests.api.test_contracts import post

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def seeds(client: httpx.Client) -> None:
    """Every seed file's calendars then policies, PUT as ``slaclock policies load`` would."""
    documents = [yaml.safe_load(p.read_text()) for p in sorted(POLICIES.glob("*.yaml"))]
    for kind in ("calendars", "policies"):
        for document in documents:
            for key, body in document.get(kind, {}).items():
                answer = client.put(f"/v1/{kind}/{key}", json=body)
                assert answer.status_code in (200, 201), answer.text


def start(client: httpx.Client, data: dict[str, Any], at: str) -> str:
    contract = unique("contract")
    answer = post(client, contract, "contract_started", at, data)
    assert answer.status_code == 201, answer.text
    return contract


def view(client: httpx.Client, contract: str, as_of: str) -> dict[str, Any]:
    answer = client.get(f"/v1/contracts/{contract}", params={"as_of": as_of})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.usefixtures("seeds")
def test_softwareidm_twenty_hours_from_key_delivery(client: httpx.Client) -> None:
    term = {"start": "2026-03-15", "months": 12, "timezone": "America/Los_Angeles"}
    data = {"customer": unique("idm"), "plan": "softwareidm-knowledge-package", "term": term}
    contract = start(client, data, "2026-03-15T09:00:00-07:00")
    hours = {"allowance": "knowledge-hours"}
    for at, amount in (("2026-05-02T10:00:00-07:00", 6.5), ("2026-11-20T10:00:00-08:00", 10)):
        assert (
            post(client, contract, "work_logged", at, {**hours, "amount": amount}).status_code
            == 201
        )
    (report,) = view(client, contract, "2026-12-01T00:00:00-08:00")["term"]["allowances"]
    assert (report["granted"], report["used"], report["balance"]) == (20, 16.5, 3.5)
    assert report["expires_at"] == "2027-03-15T07:00:00Z"
    refused = post(
        client, contract, "work_logged", "2027-01-10T10:00:00-08:00", {**hours, "amount": 4}
    )
    assert refused.status_code == 409
    assert "3.5" in refused.json()["detail"]
    before = view(client, contract, "2027-03-14T23:59:59-07:00")
    assert before["status"] == "active"
    after = view(client, contract, "2027-03-15T00:00:00-07:00")
    assert (after["status"], after["term"]) == ("ended", None)
    assert after["past_terms"][0]["allowances"][0]["forfeited"] == 3.5


@pytest.mark.usefixtures("seeds")
def test_ivanti_trm_premier_six_of_24_onsite_days_in_2_day_blocks(client: httpx.Client) -> None:
    term = {"start": "2026-02-01", "months": 12, "timezone": "Europe/London",
            "auto_renew": True, "notice_days": 60}  # fmt: skip
    customer = unique("ivanti-customer")
    data = {
        "customer": customer,
        "plan": "ivanti-enhanced",
        "calendar": "ivanti-emea",
        "term": term,
        "allowances": [{"id": "trm-days", "template": "trm-premier"}],
    }
    contract = start(client, data, "2026-02-01T09:00:00Z")
    trm = {"allowance": "trm-days", "onsite": True}
    one_day = post(client, contract, "work_logged", "2026-03-02T09:00:00Z", {**trm, "amount": 1})
    assert one_day.status_code == 422
    for at, days in (("2026-03-02T09:00:00Z", 2), ("2026-04-06T09:00:00Z", 4)):
        assert post(client, contract, "work_logged", at, {**trm, "amount": days}).status_code == 201
    beyond = post(client, contract, "work_logged", "2026-05-04T09:00:00Z", {**trm, "amount": 2})
    assert beyond.status_code == 409
    assert "6 onsite days" in beyond.json()["detail"]
    remote = {"allowance": "trm-days", "amount": 3}
    assert post(client, contract, "work_logged", "2026-05-04T09:00:00Z", remote).status_code == 201
    (report,) = view(client, contract, "2026-06-01T00:00:00Z")["term"]["allowances"]
    assert (report["granted"], report["used"], report["onsite_used"]) == (24, 9, 6)
    # Renewed: a fresh 24 days on 1 February 2027, the 15 unused forfeited.
    renewed = view(client, contract, "2027-02-01T00:00:00Z")
    assert (renewed["term"]["number"], renewed["term"]["allowances"][0]["balance"]) == (2, 24)
    assert renewed["past_terms"][0]["allowances"][0]["forfeited"] == 15


@pytest.mark.usefixtures("seeds")
def test_a_ticket_opened_by_customer_runs_on_the_contracts_region(client: httpx.Client) -> None:
    term = {"start": "2026-01-01", "months": 12, "timezone": "America/Sao_Paulo"}
    customer = unique("konneqt-customer")
    data = {"customer": customer, "plan": "konneqt-8x5", "calendar": "konneqt-brazil", "term": term}
    start(client, data, "2026-01-01T03:00:00Z")
    # Tiradentes' Day, 21 April 2026: Brazil is closed, so Sev1 (2 h) is due the next day.
    body = {"event_id": "o", "type": "opened", "occurred_at": "2026-04-21T10:00:00-03:00",
            "data": {"customer": customer, "priority": "Sev1"}}  # fmt: skip
    ticket = unique("t")
    assert client.post(f"/v1/tickets/{ticket}/events", json=body).status_code == 201
    state = client.get(f"/v1/tickets/{ticket}", params={"as_of": "2026-04-21T14:00:00Z"}).json()
    (clock,) = state["clocks"]
    assert (state["plan"], clock["calendar"]) == ("konneqt-8x5", "konneqt-brazil")
    assert clock["due_at"] == "2026-04-22T13:00:00Z"


@pytest.mark.usefixtures("seeds")
def test_ivanti_p1_on_enhanced_stays_round_the_clock_whatever_the_region(
    client: httpx.Client,
) -> None:
    term = {"start": "2026-01-01", "months": 12, "timezone": "Australia/Sydney"}
    customer = unique("ivanti-apac")
    data = {
        "customer": customer,
        "plan": "ivanti-enhanced",
        "calendar": "ivanti-apac",
        "term": term,
    }
    start(client, data, "2026-01-01T00:00:00Z")
    ticket = unique("t")
    body = {"event_id": "o", "type": "opened", "occurred_at": "2026-06-06T10:00:00Z",
            "data": {"customer": customer, "priority": "P1"}}  # fmt: skip
    assert client.post(f"/v1/tickets/{ticket}/events", json=body).status_code == 201
    (clock,) = client.get(f"/v1/tickets/{ticket}").json()["clocks"]
    assert clock["calendar"] == "24x7"


@pytest.mark.usefixtures("seeds")
def test_a_konneqt_ticket_suspended_and_reinstated(client: httpx.Client) -> None:
    """Konneqt's 'suspended SLAs' on one plan: the customer's contract holds every clock."""
    term = {"start": "2026-01-01", "months": 12, "timezone": "Europe/London"}
    customer = unique("konneqt-customer")
    data = {"customer": customer, "plan": "konneqt-8x5", "calendar": "konneqt-uk", "term": term}
    contract = start(client, data, "2026-01-01T00:00:00Z")
    # Monday 2 March 2026, London office hours (08:00-17:00): Sev1, 2 business hours.
    body = {"event_id": "o", "type": "opened", "occurred_at": "2026-03-02T09:00:00Z",
            "data": {"customer": customer, "priority": "Sev1"}}  # fmt: skip
    ticket = unique("t")
    assert client.post(f"/v1/tickets/{ticket}/events", json=body).status_code == 201
    reason = {"reason": "subscriber exceeded its usage limits"}
    assert (
        post(client, contract, "sla_suspended", "2026-03-02T09:30:00Z", reason).status_code == 201
    )
    during = client.get(f"/v1/tickets/{ticket}", params={"as_of": "2026-03-02T10:30:00Z"}).json()
    (held,) = during["clocks"]
    assert (held["state"], held["due_at"], held["at_risk"]) == ("paused", None, False)
    assert (held["elapsed_seconds"], held["suspended_seconds"]) == (1800, 3600)
    assert view(client, contract, "2026-03-02T10:30:00Z")["status"] == "suspended"

    assert post(client, contract, "sla_reinstated", "2026-03-02T11:00:00Z", {}).status_code == 201
    after = client.get(f"/v1/tickets/{ticket}", params={"as_of": "2026-03-02T12:00:00Z"}).json()
    (clock,) = after["clocks"]
    assert (clock["state"], clock["outcome"]) == ("running", "pending")
    assert (clock["elapsed_seconds"], clock["suspended_seconds"]) == (5400, 5400)
    assert clock["due_at"] == "2026-03-02T12:30:00Z"  # 2 h after 09:00, plus 1.5 h held
    segments = client.get(
        f"/v1/tickets/{ticket}/clocks/response/segments", params={"as_of": "2026-03-02T12:00:00Z"}
    ).json()
    kinds = [(s["kind"], s["start"], s["end"]) for s in segments["segments"]]
    assert ("suspended", "2026-03-02T09:30:00Z", "2026-03-02T11:00:00Z") in kinds
    assert view(client, contract, "2026-03-02T12:00:00Z")["status"] == "active"
