"""An API process without in-process projections (a `slaclock project` worker runs them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from service.settings import Settings
from tests.api.conftest import unique
from tests.api.fixtures import define_plan, opened
from tests.support.server import ADMIN_TOKEN, admin_client, running_server


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


@pytest.fixture(scope="module")
def patient_url(module_database_url: str) -> Iterator[str]:
    """A server whose ``min_position`` reads wait 5 s: the waiters below must still be
    waiting when the plain read is answered. At the module's 1 s, a loaded CI machine
    (60 client threads starting) once answered it after the first waiter gave up."""
    settings = Settings(
        database_url=module_database_url,
        admin_token=ADMIN_TOKEN,
        projections_enabled=False,
        min_position_timeout_seconds=5.0,
    )
    with running_server(settings) as url:
        yield url


def test_readers_waiting_on_min_position_hold_no_worker_thread(patient_url: str) -> None:
    # More waiting readers than the server has worker threads (40): when each held
    # one, a plain read queued behind them until they timed out.
    base_url = patient_url
    client = admin_client(base_url)
    plan = unique("plan")
    define_plan(client, unique("cal"), plan)
    receipt = client.post(f"/v1/tickets/{unique('T')}/events", json=opened("o", plan)).json()
    finished: list[tuple[float, int]] = []
    # Clients made first: making one costs tens of milliseconds of CPU.
    clients = [admin_client(base_url) for _ in range(60)]

    def wait_for_it(http: httpx.Client) -> None:
        got = http.get("/v1/tickets", params={"min_position": receipt["position"]})
        finished.append((time.monotonic(), got.status_code))

    waiters = [threading.Thread(target=wait_for_it, args=(http,)) for http in clients]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.5)  # let them reach the server and start waiting
    plain = client.get("/v1/tickets", params={"limit": 1})
    answered = time.monotonic()
    for waiter in waiters:
        waiter.join()
    for http in [*clients, client]:
        http.close()
    assert plain.status_code == 200
    assert [status for _, status in finished] == [503] * 60
    assert all(at > answered for at, _ in finished)
