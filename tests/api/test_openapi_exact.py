"""What schemathesis found wrong, one test each (tests/api/test_schemathesis.py runs it all)."""

from __future__ import annotations

import json

import httpx
import pytest

from service.cli.main import openapi_text
from tests.api.conftest import unique


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-03-02", "2026-03-02T09:15:00"])
def test_a_query_instant_must_be_an_rfc3339_date_time(client: httpx.Client, value: str) -> None:
    got = client.get("/v1/reports/compliance", params={"to": value})
    assert got.status_code == 422, got.text
    assert got.headers["content-type"].startswith("application/problem+json")
    assert got.json()["errors"][0]["field"] == "to"


def test_a_query_instant_with_an_offset_is_accepted(client: httpx.Client) -> None:
    got = client.get("/v1/reports/compliance", params={"to": "2026-03-02T09:15:00+01:00"})
    assert got.status_code == 200, got.text


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/calendars/x", "GET, HEAD, PUT"),
        ("/v1/tickets/x/events", "GET, HEAD, POST"),
        ("/v1/events/batch", "POST"),
    ],
)
def test_a_405_lists_every_method_of_the_path(client: httpx.Client, path: str, allow: str) -> None:
    got = client.request("OPTIONS", path)
    assert got.status_code == 405
    assert got.headers["allow"] == allow
    assert got.headers["content-type"].startswith("application/problem+json")


def test_a_min_position_no_write_returned_is_409_at_once(client: httpx.Client) -> None:
    got = client.get("/v1/tickets", params={"min_position": 10**15})
    assert got.status_code == 409
    assert got.json()["type"].endswith("/position-not-recorded")


def test_a_calendar_without_week_is_422_naming_week(client: httpx.Client) -> None:
    got = client.put(f"/v1/calendars/{unique('cal')}", json={"timezone": "UTC"})
    assert got.status_code == 422
    assert "week" in [e["field"] for e in got.json()["errors"]]


def test_every_operation_documents_timeouts_and_outages_as_problems() -> None:
    document = json.loads(openapi_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert {"408", "503"} <= set(answers), (method, path)
            assert "Retry-After" in answers["503"]["headers"], (method, path)
            for status, answer in answers.items():
                if status[0] in "45":
                    assert list(answer["content"]) == ["application/problem+json"], (path, status)


def test_each_event_type_has_its_own_data_schema() -> None:
    schemas = json.loads(openapi_text())["components"]["schemas"]
    branches = {b["properties"]["type"]["const"]: b for b in schemas["EventIn"]["oneOf"]}
    assert len(branches) == 9
    assert branches["priority_changed"]["properties"]["data"]["required"] == ["priority"]
    assert "data" in branches["opened"]["required"]
    contract = {b["title"] for b in schemas["ContractEventIn"]["oneOf"]}
    assert {"contract_started", "work_logged", "credit_claimed"} <= contract
    assert {b["title"] for b in schemas["ServiceEventIn"]["oneOf"]} == {
        "outage_started",
        "outage_ended",
    }
