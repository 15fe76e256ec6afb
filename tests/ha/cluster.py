"""A pg_auto_failover formation on loopback: a monitor and two PostgreSQL nodes.

Each ``pg_autoctl`` runs in a session of its own, so killing a node's process
group takes its keeper, its postmaster and every backend down at once, as a
crashed machine would: nothing is left to restart PostgreSQL there, and the
monitor has to promote the other node.

pg_autoctl refuses to run as root; when the driver is root, every pg_autoctl
command runs as ``postgres`` (``runuser``) in directories that user owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
# Faster than pg_auto_failover's defaults (5 s checks, 20 s before a node is
# unhealthy, 30 s demote timeout), so a failover takes seconds, not a minute.
# The demote timeout is safe to shorten here because the old primary is gone.
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "2000",
    "pgautofailover.primary_demote_timeout": "3000",
}


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    def dsn(self, dbname: str = "slaclock") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}?connect_timeout=2"


@dataclass
class Formation:
    root: Path
    # Below Linux's ephemeral range (32768-60999 by default): a port in it can be held
    # at any moment by some outgoing connection (CI's suite makes thousands just before).
    monitor_port: int = 25432
    node_ports: tuple[int, int] = (25433, 25434)
    dbname: str = "slaclock"
    monitor: Node = field(init=False)
    nodes: list[Node] = field(init=False)

    def __post_init__(self) -> None:
        self.monitor = Node("monitor", self.monitor_port)
        self.nodes = [Node(f"node{i + 1}", port) for i, port in enumerate(self.node_ports)]

    # --- the database URL slaclock is given -------------------------------------------

    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)
        return f"postgresql://postgres@{hosts}/{self.dbname}?target_session_attrs=read-write"

    # --- start -------------------------------------------------------------------------

    def start(self) -> None:
        if shutil.which("pg_autoctl") is None or not (PG_BIN / "postgres").exists():
            raise RuntimeError(
                "needs pg_autoctl and PostgreSQL 15: apt-get install"
                " postgresql-15-auto-failover pg-auto-failover-cli"
            )
        for node in [self.monitor, *self.nodes]:
            if not _port_free(node.port):
                raise RuntimeError(f"port {node.port} is in use (the formation needs it)")
        self.root.mkdir(parents=True, exist_ok=True)
        _own(self.root)
        monitor_data = self._pgdata(self.monitor)
        args = ["create", "monitor", "--pgdata", monitor_data, "--pgport", str(self.monitor.port)]
        self._run_autoctl([*args, "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"])
        self.monitor.process = self._spawn(self.monitor, ["run", "--pgdata", monitor_data])
        _wait_sql(self.monitor.dsn("pg_auto_failover"), "SELECT 1", 60)
        self._tune_monitor()
        first, second = self.nodes
        self._create_node(first)
        self.wait_states({first.name: {"single"}}, 90)
        self._create_node(second)
        # pg_basebackup waits for a checkpoint, which an idle primary takes minutes to do.
        self._checkpoint_until(first, lambda: self._states().get(second.name) == "secondary", 120)
        self.wait_states({first.name: {"primary"}, second.name: {"secondary"}}, 60)
        _wait_sql(first.dsn(), "SELECT 1 FROM pg_stat_replication WHERE sync_state='quorum'", 30)

    def _create_node(self, node: Node) -> None:
        monitor_uri = (
            f"postgres://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover"
            "?sslmode=disable"
        )
        args = ["create", "postgres", "--pgdata", self._pgdata(node), "--pgport", str(node.port)]
        args += ["--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--name", node.name]
        args += ["--auth", "trust", "--no-ssl", "--dbname", self.dbname]
        args += ["--monitor", monitor_uri, "--replication-quorum", "true", "--run"]
        node.process = self._spawn(node, args)

    def _tune_monitor(self) -> None:
        with psycopg.connect(self.monitor.dsn("pg_auto_failover"), autocommit=True) as conn:
            for name, value in MONITOR_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")

    # --- state -------------------------------------------------------------------------

    def _states(self) -> dict[str, str]:
        try:
            with psycopg.connect(self.monitor.dsn("pg_auto_failover")) as conn:
                rows = conn.execute(
                    "SELECT nodename, reportedstate::text FROM pgautofailover.node"
                ).fetchall()
        except psycopg.Error:
            return {}
        return {str(name): str(state) for name, state in rows}

    def wait_states(self, wanted: dict[str, set[str]], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self._states()
            if all(states.get(name) in allowed for name, allowed in wanted.items()):
                return
            self._check_alive()
            time.sleep(0.3)
        raise RuntimeError(f"formation did not reach {wanted}: {self._states()}")

    def primary(self) -> Node:
        """The node both reporting and assigned a primary's state (a dead one keeps reporting
        the state it last had, but the monitor has assigned it another)."""
        with psycopg.connect(self.monitor.dsn("pg_auto_failover")) as conn:
            rows = conn.execute(
                "SELECT nodename FROM pgautofailover.node WHERE reportedstate = goalstate"
                " AND goalstate IN ('single', 'wait_primary', 'primary')"
            ).fetchall()
        names = {str(name) for (name,) in rows}
        for node in self.nodes:
            if node.name in names:
                return node
        raise RuntimeError(f"no primary: {self._states()}")

    def wait_writable(self, timeout: float) -> float:
        """Seconds until the formation's URL reaches a read-write primary again."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                with psycopg.connect(self.url(), connect_timeout=1) as conn:
                    conn.execute("SELECT 1")
                return time.monotonic() - started
            except psycopg.Error:
                time.sleep(0.05)
        raise RuntimeError(f"no read-write primary within {timeout} s: {self._states()}")

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self._states().items()))

    def _checkpoint_until(self, node: Node, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby did not catch up: {self._states()}")
            self._check_alive()
            try:
                with psycopg.connect(node.dsn(), autocommit=True) as conn:
                    conn.execute("CHECKPOINT")
            except psycopg.Error:
                pass
            time.sleep(1)

    def _check_alive(self) -> None:
        for node in [self.monitor, *self.nodes]:
            if node.process is not None and node.process.poll() is not None:
                log = (self.root / f"{node.name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"pg_autoctl of {node.name} exited:\n{log}")

    # --- faults and the end ------------------------------------------------------------

    def kill_node(self, node: Node) -> None:
        """SIGKILL the node's keeper, postmaster and backends (its whole process group)."""
        assert node.process is not None
        os.killpg(node.process.pid, signal.SIGKILL)
        node.process.wait()
        node.process = None

    def kill_postmaster(self, node: Node) -> None:
        """SIGKILL the node's postmaster only: its keeper restarts PostgreSQL in place."""
        pidfile = Path(self._pgdata(node)) / "postmaster.pid"
        os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)

    def stop(self) -> None:
        for node in [*self.nodes, self.monitor]:
            if node.process is None:
                continue
            try:
                os.killpg(node.process.pid, signal.SIGTERM)
                node.process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(node.process.pid, signal.SIGKILL)
            node.process = None
        # A postmaster that outlived its keeper would keep the ports.
        for node in [*self.nodes, self.monitor]:
            pidfile = Path(self._pgdata(node)) / "postmaster.pid"
            if pidfile.exists():
                pid = int(pidfile.read_text().split()[0])
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # --- running pg_autoctl ------------------------------------------------------------

    def _pgdata(self, node: Node) -> str:
        return str(self.root / node.name)

    def _argv(self, args: Sequence[str]) -> list[str]:
        env = {
            "PATH": f"{PG_BIN}:/usr/bin:/bin",
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_DATA_HOME": str(self.root / "share"),
            "XDG_RUNTIME_DIR": str(self.root / "run"),
        }
        command = ["env", *(f"{k}={v}" for k, v in env.items()), "pg_autoctl", *args]
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _run_autoctl(self, args: Sequence[str]) -> None:
        done = subprocess.run(self._argv(args), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pg_autoctl {' '.join(args)} failed:\n{done.stderr[-3000:]}")

    def _spawn(self, node: Node, args: Sequence[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{node.name}.log").open("ab")
        return subprocess.Popen(
            self._argv(args), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _port_free(port: int) -> bool:
    """Whether PostgreSQL could listen on ``port``: bound as it binds, with SO_REUSEADDR,
    so that connections of an earlier run still in TIME_WAIT do not count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _wait_sql(dsn: str, query: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(dsn) as conn:
                if conn.execute(query).fetchone() is not None:
                    return
        except psycopg.Error:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{dsn}: {query!r} did not answer within {timeout} s")
        time.sleep(0.3)
