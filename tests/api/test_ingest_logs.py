"""Serving ingest in the default configuration logs no error and no traceback.

`slaclock serve` runs as users run it (projections in the process, the fast
lane on), and its whole log is read afterwards: single events, retries,
batches and read-your-writes reads must leave nothing at ERROR level and no
traceback. A commit listener that raised, as the projections' wake once did
on every write, fails this test.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port, serve_argv, wait_until_healthy

ADMIN = "ingest-logs-admin-token-0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
CALENDAR = {"timezone": "Europe/London", "week": {"mon": [["09:00", "17:00"]]}}
POLICY = {
    "name": "Logs",
    "calendar": "office",
    "priorities": ["P1", "P2"],
    "default_priority": "P2",
    "metrics": {"response": {"targets": {"P1": {"hours": 4}, "P2": {"hours": 8}}}},
}


@pytest.fixture(params=["default", "thread"])
def served_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`slaclock serve` as users run it (projections in a child process), and with them
    in a thread."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    inherited = {k: v for k, v in os.environ.items() if k != "SLA_PROJECTIONS_CHILD_PROCESS"}
    env = {
        **inherited,
        "SLA_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "SLA_ADMIN_TOKEN": ADMIN,
    }
    if request.param == "thread":
        env["SLA_PROJECTIONS_CHILD_PROCESS"] = "false"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            serve_argv(port), cwd=tmp_path, env=env, stdout=log_file, stderr=log_file
        )
        try:
            wait_until_healthy(process, f"http://127.0.0.1:{port}/healthz")
            yield f"http://127.0.0.1:{port}", log_path
        finally:
            process.terminate()
            process.wait(timeout=30)


def _event(ticket: str, event_id: str, kind: str, at: str) -> dict[str, object]:
    data = {"plan": "logs", "priority": "P1"} if kind == "opened" else {}
    return {"event_id": event_id, "type": kind, "occurred_at": at, "data": data}


def test_ingest_and_read_your_writes_log_no_error(served_log: tuple[str, Path]) -> None:
    base, log_path = served_log
    with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as http:
        assert http.put("/v1/calendars/office", json=CALENDAR).status_code == 201
        assert http.put("/v1/policies/logs", json=POLICY).status_code == 201
        for n in range(20):
            body = _event(f"L-{n}", f"e-{n}", "opened", "2026-03-02T09:00:00Z")
            answer = http.post(f"/v1/tickets/L-{n}/events", json=body)
            assert answer.status_code == 201
            assert http.post(f"/v1/tickets/L-{n}/events", json=body).status_code == 200
        batch = [
            {"ticket_id": f"B-{n}", **_event(f"B-{n}", f"b-{n}", "opened", "2026-03-02T10:00:00Z")}
            for n in range(500)
        ]
        results = http.post("/v1/events/batch", json={"events": batch}).json()["results"]
        assert {r["status"] for r in results} == {201}
        position = max(r["position"] for r in results)
        read = http.get("/v1/tickets", params={"min_position": position, "limit": 1})
        assert read.status_code == 200
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert "Application startup complete" in text
    assert "Traceback" not in text
    assert "ERROR" not in text
    assert "failed" not in text
