"""The published OpenAPI document is exact: schemathesis finds nothing against a real server.

Generic over whatever the app serves: the run reads the server's own
``/openapi.json``, so every new operation is tested the day it is added. All
checks, all phases (examples, coverage, fuzzing, stateful), at least 100
generated cases per operation, a fixed seed so a failure reproduces.
tests/api/schemathesis.toml and docs/api-choices.md say what is configured and why.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from tests.support.server import ADMIN_TOKEN, running_server

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 100
SEED = 20261203


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path_factory.mktemp('st') / 'slaclock.db'}",
        admin_token=ADMIN_TOKEN,
        # A position a write returned is reached well within this even on a loaded
        # machine; a shorter wait could turn a slow projection into a 503 failure.
        min_position_timeout_seconds=30.0,
    )
    with running_server(settings) as url:
        yield url


def schemathesis_argv(url: str, report: Path) -> list[str]:
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--generation-database",
        "none",
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]


def test_schemathesis_finds_no_failure(served: str, tmp_path: Path) -> None:
    run = subprocess.run(
        schemathesis_argv(served, tmp_path / "junit.xml"),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-4000:]
    assert "failures" not in run.stdout.splitlines()[-1]
