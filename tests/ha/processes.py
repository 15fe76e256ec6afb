"""The slaclock processes of the scenario: `serve` without projections, and `project` workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN_TOKEN = "ha-admin-token"


@dataclass
class Process:
    name: str
    argv: list[str]
    log: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a crash."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self, timeout: float = 30) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def slaclock_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLA_")}
    env.update(
        SLA_DATABASE_URL=database_url,
        SLA_ADMIN_TOKEN=ADMIN_TOKEN,
        SLA_PROJECTIONS_ENABLED="false",
        SLA_LOG_LEVEL="INFO",
    )
    return env


def slaclock(*args: str) -> list[str]:
    return [sys.executable, "-m", "service.cli.main", *args]


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(slaclock(*args), env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"slaclock {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr


def server(root: Path, name: str, port: int, env: dict[str, str]) -> Process:
    argv = slaclock("serve", "--host", "127.0.0.1", "--port", str(port))
    return Process(name, argv, root / f"{name}.log", env)


def worker(root: Path, name: str, env: dict[str, str]) -> Process:
    return Process(name, slaclock("project"), root / f"{name}.log", env)


def wait_ready(process: Process, base_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} was not ready within {timeout} s")


def worker_state(process: Process) -> str | None:
    """'active' or 'standing by': the last change the worker logged, or None yet."""
    state = None
    for line in process.text().splitlines():
        if "projection worker active" in line:
            state = "active"
        elif "projection worker standing by" in line:
            state = "standing by"
    return state


def wait_worker(process: Process, state: str, timeout: float) -> float:
    """Seconds until the worker logged ``state`` (raise after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.text()[-3000:]}")
        if worker_state(process) == state:
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} not {state} within {timeout} s:\n{process.text()[-2000:]}")
