"""Long-running or bulk CLI jobs: load the seed policies, run projections, rebuild."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from service.application import SlaService
from service.ingest import CatalogKind
from service.runtime import build_runtime
from service.settings import Settings

POLICY_FILE_SUFFIXES = (".yaml", ".yml", ".json")


def read_policy_file(path: Path) -> dict[str, Any]:
    """One vendor's file: ``calendars`` and ``policies`` maps, plus descriptive metadata."""
    text = path.read_text(encoding="utf-8")
    document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return document


def policy_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in POLICY_FILE_SUFFIXES)


async def _load(service: SlaService, documents: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    lines: list[str] = []
    # Calendars first: policies refer to them.
    sections: tuple[tuple[CatalogKind, str], ...] = (
        ("calendar", "calendars"),
        ("policy", "policies"),
    )
    for kind, section in sections:
        for path, document in documents:
            for key, given in (document.get(section) or {}).items():
                body = dict(given)
                effective_from = body.pop("effective_from", None)
                receipt = await service.define_version(kind, key, body, _instant(effective_from))
                state = "created" if receipt.created else "unchanged"
                lines.append(f"{path.name}: {kind} {key} version {receipt.version} {state}")
    return lines


def _instant(value: Any) -> Any:
    from datetime import datetime

    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def load_policies(settings: Settings, directory: Path) -> None:
    """Define every calendar and policy found in ``directory`` (idempotent: unchanged is kept)."""
    documents = [(p, read_policy_file(p)) for p in policy_files(directory)]
    runtime = build_runtime(settings, with_projections=False)
    try:
        for line in asyncio.run(_load(runtime.service, documents)):
            print(line)
    finally:
        runtime.close()


def run_projections(settings: Settings) -> None:
    from projections.worker import run_worker

    run_worker(settings.database_url, settings, out=sys.stderr)


def rebuild(settings: Settings) -> None:
    from projections.worker import run_rebuild

    run_rebuild(settings.database_url, settings, out=sys.stderr)
