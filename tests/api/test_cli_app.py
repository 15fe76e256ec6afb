"""`slaclock serve` and `slaclock openapi` with the real app, and the image's healthcheck."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.cli import main as cli
from service.settings import Settings
from tests.support.server import free_port, serve_argv, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "serve-admin-token-0123456789abcdefghijkl"


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK command of the Dockerfile, exactly as the image runs it."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("HEALTHCHECK")]
    command: list[str] = json.loads(line.split(" CMD ", 1)[1])
    return [sys.executable, *command[1:]]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "SLA_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "SLA_ADMIN_TOKEN": ADMIN,
        "SLA_PROJECTIONS_ENABLED": "false",
        "SLA_PORT": "1",  # the flag must win over the environment
    }
    argv = serve_argv(port)
    process = subprocess.Popen(
        argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}/healthz")
        yield port, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def test_serve_runs_the_app_on_the_given_port(served: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, process = served
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/v1/calendars/24x7", timeout=10).status_code == 401
    headers = {"Authorization": f"Bearer {ADMIN}"}
    assert httpx.get(f"{base}/v1/calendars/24x7", headers=headers, timeout=10).status_code == 200
    process.terminate()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so supervisors see why it stopped.
    assert process.wait(timeout=30) in {0, -signal.SIGTERM}
    assert process.stderr is not None
    assert b"Application shutdown complete" in process.stderr.read()


def test_the_image_healthcheck_passes_on_a_live_server(
    served: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, _ = served
    env = {**os.environ, "SLA_PORT": str(port)}
    assert subprocess.run(healthcheck_command(), check=False, env=env, timeout=30).returncode == 0


def test_the_image_healthcheck_fails_when_nothing_answers() -> None:
    env = {**os.environ, "SLA_PORT": str(free_port())}
    result = subprocess.run(
        healthcheck_command(), check=False, env=env, timeout=30, capture_output=True
    )
    assert result.returncode != 0


def test_openapi_writes_the_apps_document_sorted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.app import create_app

    output = tmp_path / "out" / "openapi.json"
    assert cli.main(["openapi", "--output", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    document = json.loads(text)
    assert document == create_app(Settings.model_construct()).openapi()
    assert text == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert cli.main(["openapi"]) == 0
    assert capsys.readouterr().out == text


def test_openapi_ignores_the_environment_and_needs_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["openapi"]) == 0
    plain = capsys.readouterr().out
    monkeypatch.setenv("SLA_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    monkeypatch.setenv("SLA_MAX_BATCH_ITEMS", "3")
    monkeypatch.setenv("SLA_MAX_BODY_BYTES", "10")
    assert cli.main(["openapi"]) == 0
    assert capsys.readouterr().out == plain


def test_policies_load_wants_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["policies", "load", str(tmp_path / "missing")]) == 1
    assert "not a directory" in capsys.readouterr().err
