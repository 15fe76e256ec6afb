"""Every instant that comes in is inside [1970-01-01T00:00:00Z, 2200-01-01T00:00:00Z).

Outside it, UTC conversion and calendar maths overflow (issue 12, defect 1): each
such instant is a 422 naming the field and the range, whatever its offset, on
every path (single event, batch, catalog PUT, ticket and report reads).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import unique
from tests.api.fixtures import DUBLIN, define_plan, opened, standard_policy
from tests.support.server import admin_client

OUT_OF_RANGE = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",  # converting to UTC overflows
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00-00:00",
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T00:59:59+01:00",
    "2200-01-01T00:00:00Z",
    "2199-12-31T23:59:59-00:01",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",  # converting to UTC overflows
]


@pytest.fixture(scope="module")
def plan(base_url: str) -> str:
    name = unique("bounds")
    with admin_client(base_url) as http:
        define_plan(http, name, name)
    return name


def assert_out_of_range(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"] == [
        {
            "field": field,
            "message": "must be an instant from 1970-01-01T00:00:00Z up to,"
            " not including, 2200-01-01T00:00:00Z",
        }
    ], body


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_an_event_out_of_range_is_422_naming_occurred_at(
    client: httpx.Client, plan: str, instant: str
) -> None:
    ticket = unique("far")
    response = client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan, at=instant))
    assert_out_of_range(response, "occurred_at")
    assert client.get(f"/v1/tickets/{ticket}").status_code == 404


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z"])
def test_a_batch_item_out_of_range_answers_for_itself(
    client: httpx.Client, plan: str, instant: str
) -> None:
    far, near = unique("far"), unique("near")
    items = [
        opened("o", plan, at=instant) | {"ticket_id": far},
        opened("o", plan) | {"ticket_id": near},
    ]
    response = client.post("/v1/events/batch", json={"events": items})
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["status"] == 422
    assert first["errors"][0]["field"] == "occurred_at"
    assert second["status"] == 201


def test_the_last_instant_of_the_range_is_accepted_and_read(
    client: httpx.Client, plan: str
) -> None:
    ticket = unique("edge")
    last = "2199-12-31T23:59:59.999999Z"
    assert (
        client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan, at=last)).status_code
        == 201
    )
    response = client.get(f"/v1/tickets/{ticket}", params={"as_of": last})
    assert response.status_code == 200, response.text
    for clock in response.json()["clocks"]:
        assert clock["due_at"] is None  # due after the range: not within the horizon


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
@pytest.mark.parametrize("param", ["as_of", "as_known_at"])
def test_read_instants_out_of_range_are_422(
    client: httpx.Client, plan: str, param: str, instant: str
) -> None:
    ticket = unique("read")
    assert client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan)).status_code == 201
    paths = [f"/v1/tickets/{ticket}", f"/v1/tickets/{ticket}/clocks/response/segments"]
    if param == "as_known_at":
        paths.append(f"/v1/tickets/{ticket}/events")
    for path in paths:
        assert_out_of_range(client.get(path, params={param: instant}), param)


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z"])
def test_effective_from_out_of_range_is_422(client: httpx.Client, instant: str) -> None:
    name = unique("eff")
    calendar: dict[str, Any] = DUBLIN | {"effective_from": instant}
    assert_out_of_range(client.put(f"/v1/calendars/{name}", json=calendar), "effective_from")
    assert client.put(f"/v1/calendars/{name}", json=DUBLIN).status_code == 201
    policy = standard_policy(name) | {"effective_from": instant}
    assert_out_of_range(client.put(f"/v1/policies/{name}", json=policy), "effective_from")


@pytest.mark.parametrize("param", ["from", "to"])
def test_report_bounds_out_of_range_are_422(client: httpx.Client, param: str) -> None:
    response = client.get("/v1/reports/compliance", params={param: "9999-12-31T23:59:59-23:59"})
    assert_out_of_range(response, param)
