"""A stored ticket no evaluation can handle stops nothing, and reading it is no 500 (issue 12).

The ticket is written straight to the store, as a release without today's
range of instants accepted it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from service.settings import Settings
from tests.api.conftest import unique
from tests.api.fixtures import DUBLIN, opened, standard_policy
from tests.integration.test_projection_support import LogWriter, database
from tests.support.server import ADMIN_TOKEN, admin_client, running_server


@pytest.fixture(scope="module")
def served(module_database_url: str) -> Iterator[tuple[str, httpx.Client]]:
    settings = Settings(
        database_url=module_database_url,
        admin_token=ADMIN_TOKEN,
        min_position_timeout_seconds=5.0,
    )
    with running_server(settings) as url, admin_client(url) as http:
        yield module_database_url, http


def test_stored_tickets_out_of_range_stop_nothing_and_never_answer_500(
    served: tuple[str, httpx.Client],
) -> None:
    url, client = served
    plan, early, late = unique("plan"), unique("EARLY"), unique("LATE")
    calendar = unique("cal")
    assert client.put(f"/v1/calendars/{calendar}", json=DUBLIN).status_code == 201
    always = standard_policy(calendar) | {"effective_from": None}  # a first version: since ever
    assert client.put(f"/v1/policies/{plan}", json=always).status_code == 201
    assert client.post(f"/v1/tickets/{late}/events", json=opened("o", plan)).status_code == 201
    with database(url) as (store, _engine):
        writer = LogWriter(store)
        now = datetime.now(UTC)
        writer.event(early, "opened", datetime(1, 1, 1, tzinfo=UTC), now, plan=plan)
        writer.versions[("ticket", late)] = 1
        writer.event(late, "responded", datetime(9999, 12, 31, tzinfo=UTC), now)
    good = unique("T")
    receipt = client.post(f"/v1/tickets/{good}/events", json=opened("o", plan)).json()

    listed = client.get("/v1/tickets", params={"plan": plan, "min_position": receipt["position"]})
    assert listed.status_code == 200, listed.text
    assert [item["ticket_id"] for item in listed.json()["items"]] == [good]

    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    projections = ready.json()["checks"]["projections"]
    assert projections["quarantined_tickets"] >= 2
    assert "slaclock_projection_quarantined_tickets" in client.get("/metrics").text

    for path in (f"/v1/tickets/{early}", f"/v1/tickets/{early}/clocks/response/segments"):
        response = client.get(path)
        assert response.status_code == 409, response.text
        assert "outside the instants slaclock evaluates" in response.json()["detail"]
    assert client.get(f"/v1/tickets/{early}/events").status_code == 200
    assert client.get(f"/v1/tickets/{late}").status_code == 200  # 9999 is after now
