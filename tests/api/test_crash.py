"""Nothing acknowledged is lost when the server dies mid-stream (SIGKILL, no shutdown)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.api.fixtures import DUBLIN, opened, standard_policy
from tests.support.server import free_port, serve_argv, wait_until_healthy

TOKEN = "crash-test-admin-token"


def serve(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SLA_DATABASE_URL": database_url,
        "SLA_ADMIN_TOKEN": TOKEN,
        "SLA_PROJECTIONS_ENABLED": "false",
    }
    argv = serve_argv(port)
    process = subprocess.Popen(argv, env=env, cwd=Path(__file__).resolve().parents[2])
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}/readyz")
    except AssertionError:
        process.kill()
        raise
    return process


def post_until_killed(
    base: str, worker: int, acknowledged: list[str], stop: threading.Event
) -> None:
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    ) as http:
        for n in range(100_000):
            if stop.is_set():
                return
            ticket = f"K-{worker}-{n}"
            try:
                response = http.post(f"/v1/tickets/{ticket}/events", json=opened("o", "plan"))
            except httpx.TransportError:
                return
            if response.status_code == 201:
                acknowledged.append(ticket)


def test_every_acknowledged_event_survives_a_kill(database_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = serve(database_url, port)
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            assert http.put("/v1/calendars/cal", json=DUBLIN).status_code == 201
            assert http.put("/v1/policies/plan", json=standard_policy("cal")).status_code == 201
        acknowledged: list[str] = []
        stop = threading.Event()
        workers = [
            threading.Thread(target=post_until_killed, args=(base, w, acknowledged, stop))
            for w in range(8)
        ]
        for worker in workers:
            worker.start()
        time.sleep(1.5)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert len(acknowledged) > 20
    process = serve(database_url, port)
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            missing = [
                t for t in acknowledged if http.get(f"/v1/tickets/{t}/events").status_code != 200
            ]
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert missing == []
