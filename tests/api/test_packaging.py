"""What `pip install .` gives: a `slaclock` with a version and the seed packs inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "policies").glob("*.yaml"))


def slaclock(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    command = [sys.executable, "-m", "service.cli.main", *args]
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    from importlib.metadata import version

    assert slaclock("--version", cwd=tmp_path).strip() == f"slaclock {version('slaclock')}"


def test_builtin_loads_every_seed_pack_without_a_checkout(tmp_path: Path) -> None:
    env = {**os.environ, "SLA_DATABASE_URL": f"sqlite:///{tmp_path / 'seeds.db'}"}
    output = slaclock("policies", "load", "--builtin", cwd=tmp_path, env=env)
    expected = {
        f"{path.name}: policy {plan}"
        for path in SEEDS
        for plan in (yaml.safe_load(path.read_text()) or {}).get("policies", {})
    }
    loaded = {line.split(" version ")[0] for line in output.splitlines() if ": policy " in line}
    assert loaded == expected
    assert len(expected) >= 5


def test_the_wheel_carries_the_seed_packs(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("slaclock-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"policies/{path.name}" for path in SEEDS} <= names
    assert "service/cli/main.py" in names
    # The dashboard's templates and static files ship as package data.
    assert {"service/ui/templates/overview.html", "service/ui/static/ui.js"} <= names
    migrations = {
        "service/migrations/env.py",
        "service/migrations/script.py.mako",
        "service/migrations/versions/v0001_baseline.py",
        "service/migrations/versions/v0002_webhooks.py",
        "service/migrations/versions/v0003_gauge_counters.py",
        "service/migrations/versions/v0004_partial_indexes.py",
    }
    assert migrations <= names


def test_migrate_needs_no_alembic_ini(tmp_path: Path) -> None:
    env = {**os.environ, "SLA_DATABASE_URL": f"sqlite:///{tmp_path / 'migrated.db'}"}
    assert not list(tmp_path.glob("alembic.ini"))
    output = slaclock("migrate", cwd=tmp_path, env=env)
    assert "schema at 0004_partial_indexes, was none (a new database)" in output
