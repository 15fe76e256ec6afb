"""Operators' view: log lines, request ids in them, settings typos, and Prometheus metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.cli.main import main, open_token_store
from service.logging_setup import database_for_logs
from service.settings import Settings, unknown_variables
from tests.api.fixtures import define_plan
from tests.support.server import (
    ADMIN_TOKEN,
    admin_client,
    free_port,
    running_server,
    serve_argv,
    wait_until_healthy,
)

OPENED = {
    "event_id": "e1",
    "type": "opened",
    "occurred_at": "2026-03-02T09:15:00Z",
    "data": {"plan": "standard", "customer": "acme", "priority": "high"},
}
LANE = {"content-type": "application/json"}


def _serve(tmp_path: Path, **env: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    environment = {
        **os.environ,
        "SLA_DATABASE_URL": f"sqlite:///{tmp_path / 'logs.db'}",
        "SLA_ADMIN_TOKEN": ADMIN_TOKEN,
        "SLA_PROJECTIONS_ENABLED": "false",
        "SLA_ACCESS_LOG": "true",
        **env,
    }
    process = subprocess.Popen(
        serve_argv(port), cwd=tmp_path, env=environment, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, f"{base}/healthz")
    except BaseException:
        process.kill()
        raise
    return base, process


def _stop(process: subprocess.Popen[bytes]) -> list[str]:
    process.terminate()
    _, err = process.communicate(timeout=30)
    return err.decode().splitlines()


def _traffic(base: str) -> None:
    with admin_client(base) as http:
        define_plan(http, "dublin", "standard")
        lane = http.post(
            "/v1/tickets/log-1/events", json=OPENED, headers={**LANE, "x-request-id": "lane-rid-1"}
        )
        assert lane.status_code == 201
        route = http.get("/v1/tickets/log-1/events", headers={"x-request-id": "route-rid-2"})
        assert route.status_code == 200


def test_json_logs_carry_time_level_logger_and_the_request_id(tmp_path: Path) -> None:
    base, process = _serve(tmp_path, SLA_LOG_FORMAT="json")
    try:
        _traffic(base)
    finally:
        lines = _stop(process)
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    for record in records:
        assert {"time", "level", "logger", "request_id", "message"} <= record.keys()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", record["time"])
    by_id = {r["request_id"]: r for r in records if r["logger"] == "uvicorn.access"}
    assert "/v1/tickets/log-1/events" in by_id["lane-rid-1"]["message"]
    assert "GET /v1/tickets/log-1/events" in by_id["route-rid-2"]["message"]
    [startup] = [r for r in records if "starting" in r["message"]]
    assert f"sqlite:///{tmp_path / 'logs.db'}" in startup["message"]
    assert startup["level"] == "INFO"
    assert startup["logger"] == "slaclock"


def test_text_logs_and_the_log_level(tmp_path: Path) -> None:
    base, process = _serve(tmp_path, SLA_LOG_LEVEL="WARNING")
    try:
        _traffic(base)
    finally:
        quiet = _stop(process)
    assert quiet == []  # nothing at WARNING or above happened
    base, process = _serve(tmp_path, SLA_DATABASE_URL=f"sqlite:///{tmp_path / 'text.db'}")
    try:
        _traffic(base)
    finally:
        lines = _stop(process)
    assert lines
    shape = re.compile(r"\d{4}-\d\d-\d\dT\S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ \[\S+\] .*")
    for line in lines:
        assert shape.fullmatch(line), line
    assert any("[lane-rid-1]" in line and "uvicorn.access" in line for line in lines)


def test_the_database_is_named_without_its_password() -> None:
    url = "postgresql://slaclock:s3cr%40t@db.internal:5432/sla?sslmode=require"
    shown = database_for_logs(url)
    assert "s3cr" not in shown
    assert shown.startswith("postgresql://slaclock:***@db.internal:5432/sla")
    assert database_for_logs("sqlite:///data/slaclock.db") == "sqlite:///data/slaclock.db"


def test_a_misspelled_setting_is_named_with_its_nearest_valid_one() -> None:
    assert unknown_variables({"SLA_LOG_LEVLE": "DEBUG", "SLA_PORT": "1", "HOME": "/"}) == [
        "unknown setting SLA_LOG_LEVLE (did you mean SLA_LOG_LEVEL?)"
    ]
    assert unknown_variables({"SLA_ZZZZZZZZ": "1"}) == ["unknown setting SLA_ZZZZZZZZ"]


def test_serve_stops_on_a_misspelled_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLA_DATABSE_URL", "sqlite:///elsewhere.db")
    assert main(["serve", "--port", str(free_port())]) == 1
    err = capsys.readouterr().err
    assert "SLA_DATABSE_URL" in err
    assert "did you mean SLA_DATABASE_URL?" in err


# --- metrics -------------------------------------------------------------------


@pytest.fixture(scope="module")
def metrics_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('metrics') / 'metrics.db'}"
    settings = Settings(database_url=url, admin_token=ADMIN_TOKEN, projections_enabled=False)
    with open_token_store(settings) as store:
        _, metrics_token = store.create(["metrics:read"], name="prometheus")
        _, reader_token = store.create(["tickets:read"], name="reader")
    with running_server(settings) as base:
        yield base, metrics_token, reader_token


def _scrape(base: str, token: str) -> httpx.Response:
    return httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})


def test_metrics_read_is_enough_for_metrics_and_nothing_else(
    metrics_server: tuple[str, str, str],
) -> None:
    base, metrics_token, reader_token = metrics_server
    assert _scrape(base, metrics_token).status_code == 200
    assert _scrape(base, ADMIN_TOKEN).status_code == 200
    assert _scrape(base, reader_token).status_code == 403
    other = httpx.get(f"{base}/v1/tickets", headers={"Authorization": f"Bearer {metrics_token}"})
    assert other.status_code == 403


def test_http_process_and_build_metrics(metrics_server: tuple[str, str, str]) -> None:
    base, metrics_token, _ = metrics_server
    with admin_client(base) as http:
        define_plan(http, "dublin", "standard")
        assert http.post("/v1/tickets/m-1/events", json=OPENED, headers=LANE).status_code == 201
        assert http.get("/v1/tickets/m-1").status_code == 200
        assert http.get("/no/such/thing").status_code == 404
    text = _scrape(base, metrics_token).text
    lane = 'method="POST",route="/v1/tickets/{ticket_id}/events",status="201"'
    assert f"slaclock_http_requests_total{{{lane}}} 1.0" in text
    assert f"slaclock_http_request_duration_seconds_count{{{lane}}} 1.0" in text
    read = 'method="GET",route="/v1/tickets/{ticket_id}",status="200"'
    assert f"slaclock_http_requests_total{{{read}}} 1.0" in text
    assert 'route="<unmatched>",status="404"' in text
    assert "/no/such/thing" not in text
    assert "process_cpu_seconds_total" in text
    assert re.search(r'slaclock_build_info\{python="[\d.]+",version="[^"]+"\} 1\.0', text)
    assert re.search(r"^slaclock_writer_events_total [1-9]", text, re.M)  # hand-written lines stay
