"""SQLite faults: a database made read-only for a while, and a database directory deleted.

Read-only for real: as root, chmod stops nothing, so the files are made immutable
(``chattr +i``); as another user, chmod does it. The shared-memory index
(``-shm``) is left alone: it is mapped into memory, and an immutable mapped file
kills the process (SIGBUS), which is no database fault.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.settings import Settings
from service.storage.statefile import state_path
from tests.api.conftest import unique
from tests.api.fixtures import define_plan, opened
from tests.api.webhook_support import subscribe
from tests.support.server import ADMIN_TOKEN, admin_client, running_server

RECOVERY_SECONDS = 10.0


def settings_for(database: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{database}", admin_token=ADMIN_TOKEN)


def database_files(database: Path) -> list[Path]:
    return [p for p in (database, database.with_name(database.name + "-wal")) if p.exists()]


def state_files(database: Path) -> list[Path]:
    return database_files(state_path(database))


def set_read_only(files: list[Path], read_only: bool) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if read_only else "-i", *map(str, files)], check=True)
    else:
        for path in files:
            path.chmod(0o444 if read_only else 0o644)


@pytest.fixture
def read_only_capable(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        return
    probe = tmp_path / "probe"
    probe.write_text("x")
    done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"this filesystem cannot make a file immutable: {done.stderr!r}")
    subprocess.run(["chattr", "-i", str(probe)], check=True)


def post(http: httpx.Client, plan: str) -> tuple[str, httpx.Response]:
    ticket = unique("T")
    return ticket, http.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan))


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert "retry-after" in response.headers
    assert "sqlite" not in response.text.lower()


def until(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "did not recover"
        time.sleep(0.1)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data" / "slaclock.db"
    yield path
    if path.parent.exists():
        set_read_only(database_files(path) + state_files(path), False)


@pytest.mark.usefixtures("read_only_capable")
def test_writes_recover_by_themselves_after_a_read_only_spell(database: Path) -> None:
    acknowledged: list[str] = []
    with running_server(settings_for(database)) as url, admin_client(url) as http:
        plan = unique("plan")
        define_plan(http, unique("cal"), plan)
        ticket, response = post(http, plan)
        assert response.status_code == 201
        acknowledged.append(ticket)
        set_read_only(database_files(database), True)
        try:
            assert_unavailable(post(http, plan)[1])
            assert_unavailable(http.get("/readyz"))
            assert http.get(f"/v1/tickets/{ticket}").status_code in (200, 503)
            assert http.get("/v1/tickets").status_code in (200, 503)
        finally:
            set_read_only(database_files(database), False)

        def written() -> bool:
            ticket, response = post(http, plan)
            assert response.status_code in (201, 503), response.text
            if response.status_code == 201:
                acknowledged.append(ticket)
            return response.status_code == 201

        until(written, RECOVERY_SECONDS)
        until(lambda: http.get("/readyz").status_code == 200, RECOVERY_SECONDS)
    with running_server(settings_for(database)) as url, admin_client(url) as http:
        for ticket in acknowledged:
            assert http.get(f"/v1/tickets/{ticket}").status_code == 200, ticket


@pytest.mark.usefixtures("read_only_capable")
def test_a_read_only_state_file_is_an_outage_too(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The second SQLite file (tokens, webhooks, read models): 503s, never a 500, then back."""
    with running_server(settings_for(database)) as url, admin_client(url) as http:
        plan = unique("plan")
        define_plan(http, unique("cal"), plan)
        set_read_only(state_files(database), True)
        try:
            until(lambda: http.get("/readyz").status_code == 503, RECOVERY_SECONDS)
            body = {"url": "https://hooks.example.com/x", "kinds": ["breached"]}
            assert_unavailable(http.post("/v1/webhooks", json=body))
            # The log is writable: an event may be stored until the probe opens the circuit.
            until(lambda: post(http, plan)[1].status_code == 503, RECOVERY_SECONDS)
            assert_unavailable(post(http, plan)[1])
        finally:
            set_read_only(state_files(database), False)
        until(lambda: http.get("/readyz").status_code == 200, RECOVERY_SECONDS)
        created = subscribe(http, "https://hooks.example.com/x", plan, ["breached"])
        assert http.get(f"/v1/webhooks/{created['id']}").status_code == 200
    # An answered database error is not re-raised to the server (which would drop the
    # connection and log it as a crash).
    assert not [r for r in caplog.records if r.name == "uvicorn.error" and r.exc_info]


def test_a_deleted_database_directory_is_noticed(database: Path) -> None:
    with running_server(settings_for(database)) as url, admin_client(url) as http:
        plan = unique("plan")
        define_plan(http, unique("cal"), plan)
        ticket, response = post(http, plan)
        assert response.status_code == 201
        shutil.rmtree(database.parent)
        for _ in range(3):  # a 201 here would be lost at the next start
            assert_unavailable(post(http, plan)[1])
        assert_unavailable(http.get("/readyz"))
        assert_unavailable(http.get(f"/v1/tickets/{ticket}"))
        assert_unavailable(http.get("/v1/tickets"))
