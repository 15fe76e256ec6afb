"""`slaclock serve` with SLA_PROJECTIONS_CHILD_PROCESS: the projections in a supervised child.

The server's reads see their own writes through the child (min_position), the
child is a real separate process, a killed child is replaced and the
projections go on, and stopping the server leaves no child behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port, serve_argv, wait_until_healthy
from tests.support.waiting import eventually

ADMIN = "child-process-admin-token-0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
POLICY = {
    "name": "Child",
    "calendar": "24x7",
    "priorities": ["P1"],
    "default_priority": "P1",
    "metrics": {"response": {"targets": {"P1": {"hours": 4}}}},
}


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = next(line for line in status.splitlines() if line.startswith("PPid:"))
        # multiprocessing's spawned children (not its resource tracker)
        if int(ppid.split()[1]) == pid and "spawn_main" in _cmdline(entry):
            found.append(int(entry.name))
    return found


def _cmdline(entry: Path) -> str:
    try:
        return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "SLA_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "SLA_ADMIN_TOKEN": ADMIN,
        "SLA_PROJECTIONS_CHILD_PROCESS": "true",
    }
    process = subprocess.Popen(
        serve_argv(port), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, f"{base}/healthz")
        with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as http:
            yield http, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()


def _open(http: httpx.Client, ticket_id: str) -> int:
    body = {
        "event_id": "e1",
        "type": "opened",
        "occurred_at": "2026-03-02T09:00:00Z",
        "data": {"plan": "child", "customer": "acme"},
    }
    answer = http.post(f"/v1/tickets/{ticket_id}/events", json=body)
    assert answer.status_code == 201
    return int(answer.json()["position"])


def _listed(http: httpx.Client, position: int) -> list[str]:
    params = {"customer": "acme", "min_position": position, "limit": 1000}
    answer = http.get("/v1/tickets", params=params)
    assert answer.status_code == 200, answer.text
    return [item["ticket_id"] for item in answer.json()["items"]]


def _projected_child(http: httpx.Client, server: subprocess.Popen[bytes]) -> int:
    """The server's one child, once it has projected a first ticket."""
    assert http.put("/v1/policies/child", json=POLICY).status_code == 201
    assert "C-1" in _listed(http, _open(http, "C-1"))
    [child] = children_of(server.pid)
    return child


def test_the_child_projects_is_replaced_when_killed_and_goes_with_the_server(
    served: tuple[httpx.Client, subprocess.Popen[bytes]],
) -> None:
    http, server = served
    child = _projected_child(http, server)
    assert child != server.pid

    os.kill(child, signal.SIGKILL)
    assert eventually(
        lambda: len(children_of(server.pid)) == 1 and child not in children_of(server.pid),
        seconds=10,
    )
    assert "C-2" in _listed(http, _open(http, "C-2"))
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["projections"]["running"] is True

    [replacement] = children_of(server.pid)
    server.terminate()
    assert server.wait(timeout=30) in {0, -signal.SIGTERM}
    assert eventually(lambda: not Path(f"/proc/{replacement}").exists(), seconds=10)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling only")
def test_the_childs_steps_run_at_the_idle_scheduling_class(
    served: tuple[httpx.Client, subprocess.Popen[bytes]],
) -> None:
    # A burst of writes gets the CPU first (service/idle_lane.py); the child's main
    # thread, which runs the steps once it has been behind for long, stays normal.
    http, server = served
    child = _projected_child(http, server)
    policies = {
        int(task.name): os.sched_getscheduler(int(task.name))
        for task in Path(f"/proc/{child}/task").iterdir()
    }
    assert policies.pop(child) == os.SCHED_OTHER
    assert list(policies.values()).count(os.SCHED_IDLE) == 1
