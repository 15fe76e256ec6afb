"""`slaclock rebuild` under SIGTERM, as a container runtime or a supervisor stops it.

It stops before its switch-over, with its evaluation processes, the live read
models exactly as they were, a plain line saying so, and exit code 143; its
progress is plain lines when its output is not a terminal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from tests.api.test_projection_process import children_of
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    database,
    follow_all,
    snapshot,
)

TICKETS = 120_000


def test_sigterm_stops_the_rebuild_and_leaves_the_live_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rebuild.db'}"
    with database(url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        for start in range(0, TICKETS, 5_000):
            writer.append(
                *(
                    writer.ticket_event(
                        f"R-{n}", "opened", T0 + timedelta(minutes=n % 600), plan="gold"
                    )
                    for n in range(start, start + 5_000)
                )
            )
        follow_all(engine, store, batch=20_000)
        live = snapshot(engine)
    env = {**os.environ, "SLA_DATABASE_URL": url}
    rebuild = subprocess.Popen(
        [sys.executable, "-m", "service.cli.main", "rebuild"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert rebuild.stderr is not None
    first = rebuild.stderr.readline()
    assert first.startswith("rebuild: "), first  # a plain line, not a redrawn bar
    assert "events/s" in first
    assert "\r" not in first
    rebuild.send_signal(signal.SIGTERM)
    assert rebuild.wait(timeout=60) == 128 + signal.SIGTERM
    rest = rebuild.stderr.read()
    rebuild.stderr.close()
    assert "stopped by SIGTERM; the live read models are unchanged" in rest
    assert "Traceback" not in rest
    time.sleep(0.5)
    assert children_of(rebuild.pid) == []
    with database(url) as (_, engine):
        assert snapshot(engine) == live
