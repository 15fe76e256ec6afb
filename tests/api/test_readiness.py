"""An API process without in-process projections (a `slaclock project` worker runs them)."""

from __future__ import annotations

import httpx

from tests.api.conftest import unique
from tests.api.fixtures import define_plan, opened


def test_projection_endpoints_answer_without_an_in_process_runner(client: httpx.Client) -> None:
    assert client.get("/v1/tickets").status_code == 200
    assert client.get("/v1/breaches").status_code == 200
    assert client.get("/v1/reports/compliance").status_code == 200


def test_ready_without_an_in_process_runner(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["projections"]["running"] is False


def test_min_position_no_worker_reaches_is_503_with_retry_after(client: httpx.Client) -> None:
    plan = unique("plan")
    define_plan(client, unique("cal"), plan)
    receipt = client.post(f"/v1/tickets/{unique('T')}/events", json=opened("o", plan)).json()
    response = client.get("/v1/tickets", params={"min_position": receipt["position"]})
    assert response.status_code == 503
    assert "retry-after" in response.headers
    assert response.headers["content-type"].startswith("application/problem+json")
