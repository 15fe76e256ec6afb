"""Long-running or bulk CLI jobs: load the seed policies, run projections, rebuild."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from domain.calendar import parse_calendar
from domain.errors import FieldError, ValidationFailed
from domain.policy import parse_policy
from service.application import SlaService
from service.gc_tuning import collect_less_often
from service.ingest import CatalogKind
from service.migrations.schema import prepared_engine
from service.runtime import build_runtime
from service.settings import Settings
from service.storage.checkpointer import state_checkpoints
from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore

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


Item = tuple[Path, CatalogKind, str, dict[str, Any]]


def _items(documents: list[tuple[Path, dict[str, Any]]]) -> list[Item]:
    """Every calendar, then every policy (policies refer to calendars)."""
    sections: tuple[tuple[CatalogKind, str], ...] = (
        ("calendar", "calendars"),
        ("policy", "policies"),
    )
    return [
        (path, kind, key, dict(body))
        for kind, section in sections
        for path, document in documents
        for key, body in (document.get(section) or {}).items()
    ]


def _problems(items: list[Item]) -> list[FieldError]:
    """Validate everything before storing anything, naming the file and item of each error."""
    problems: list[FieldError] = []
    for path, kind, key, body in items:
        document = {k: v for k, v in body.items() if k != "effective_from"}
        try:
            parse_calendar(document) if kind == "calendar" else parse_policy(document)
        except ValidationFailed as error:
            where = f"{path.name}: {kind} {key}"
            problems += [FieldError(f"{where}: {e.field}", e.message) for e in error.errors]
    return problems


async def _load(service: SlaService, items: list[Item]) -> None:
    for path, kind, key, body in items:
        effective_from = body.pop("effective_from", None)
        try:
            receipt = await service.define_version(kind, key, body, _instant(effective_from))
        except ValidationFailed as error:
            where = f"{path.name}: {kind} {key}"
            raise ValidationFailed(error.errors, f"{where}: {error.detail}") from error
        state = "created" if receipt.created else "unchanged"
        print(f"{path.name}: {kind} {key} version {receipt.version} {state}", flush=True)


def _instant(value: Any) -> Any:
    from datetime import datetime

    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def load_policies(settings: Settings, directory: Path) -> None:
    """Define every calendar and policy found in ``directory`` (idempotent: unchanged is kept)."""
    items = _items([(p, read_policy_file(p)) for p in policy_files(directory)])
    problems = _problems(items)
    if problems:
        lines = "\n".join(f"  {p.field}: {p.message}" for p in problems)
        raise ValidationFailed(problems, f"nothing was loaded:\n{lines}")
    runtime = build_runtime(settings, with_projections=False)
    try:
        asyncio.run(_load(runtime.service, items))
    finally:
        runtime.close()


def run_projections(settings: Settings) -> None:
    """Follow the log as a separate worker until SIGINT/SIGTERM (on PostgreSQL, one is active)."""
    from projections.worker import run_worker

    collect_less_often()
    with (
        _log_and_engine(settings) as (store, engine),
        state_checkpoints(store.config.state_path) as checkpoints,
    ):
        run_worker(
            engine,
            store,
            batch_size=settings.projection_batch_size,
            poll_seconds=settings.projection_poll_seconds,
            checkpoints=checkpoints,
            out=sys.stderr,
        )


def rebuild(settings: Settings) -> None:
    """Replay the whole log into fresh tables and switch over atomically."""
    from projections.worker import run_rebuild

    collect_less_often()
    with _log_and_engine(settings) as (store, engine):
        run_rebuild(engine, store, out=sys.stderr)


@contextmanager
def _log_and_engine(settings: Settings) -> Iterator[tuple[EventStore, Engine]]:
    config = DatabaseConfig.parse(settings.database_url)
    engine = prepared_engine(config, auto_migrate=settings.auto_migrate)
    store = EventStore(config)
    try:
        yield store, engine
    finally:
        store.close()
        engine.dispose()
