"""Run `slaclock serve` as a separate process for benchmarks, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

TOKEN = "bench-admin-token"
PG_SERVER = os.environ.get(
    "SLA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    name = f"slaclock_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def server(
    database_url: str, port: int, *, projections: bool = True, **settings: str
) -> Iterator[str]:
    """``slaclock serve`` on ``port``; ``settings`` are more SLA_* variables (by name)."""
    # SLA_BENCH_* configures the benchmarks, not the server, which refuses unknown SLA_* names.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SLA_BENCH_")}
    env = dict(
        inherited,
        SLA_DATABASE_URL=database_url,
        SLA_ADMIN_TOKEN=TOKEN,
        SLA_PROJECTIONS_ENABLED="true" if projections else "false",
        **settings,
    )
    command = [
        sys.executable,
        "-m",
        "service.cli.main",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("benchmark server did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def admin(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
