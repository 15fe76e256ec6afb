"""Test helpers for the seed policies in ``policies/``: load a vendor's file, evaluate tickets.

A ``SeedFile`` parses every calendar and policy of one file with the domain
parsers (exactly what the service stores) and evaluates tickets against them
with the pure clock evaluator, checking first, as the service does, that the
plan has a version in effect when the ticket is opened. ``wall`` turns a
local wall-clock time of a zone into the RFC 3339 text the ticket builder takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain.business_time import CalendarTimeline
from domain.calendar import CalendarSpec, parse_calendar
from domain.clock_model import Clock, TicketState
from domain.clocks import evaluate
from domain.policy import Policy, parse_policy
from domain.versions import Version, in_effect_at
from service.cli.jobs import read_policy_file
from tests.unit.builders import Ticket, utc

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
RECORDED_AT = datetime(2025, 1, 1, tzinfo=UTC)

Path_ = tuple[str, ...]


def wall(local: str, zone: str) -> str:
    """``"2026-06-01 10:00"`` in ``zone`` as RFC 3339 with that zone's offset at that moment."""
    naive = datetime.fromisoformat(local)
    return naive.replace(tzinfo=ZoneInfo(zone)).isoformat()


def _instant(value: Any) -> datetime | None:
    return None if value is None else utc(str(value))


@dataclass
class SeedFile:
    """One vendor's file, its calendars and policies parsed into first versions."""

    path: Path
    document: dict[str, Any]
    calendars: dict[str, CalendarTimeline] = field(default_factory=dict)
    plans: dict[str, Version[Policy]] = field(default_factory=dict)

    @classmethod
    def load(cls, stem: str) -> SeedFile:
        path = POLICIES_DIR / f"{stem}.yaml"
        seed = cls(path, read_policy_file(path))
        for calendar_id, body in seed.document["calendars"].items():
            spec = dict(body)
            start = _instant(spec.pop("effective_from", None))
            version = Version[CalendarSpec](1, start, RECORDED_AT, parse_calendar(spec))
            seed.calendars[calendar_id] = CalendarTimeline(calendar_id, [version])
        for plan_id, body in seed.document["policies"].items():
            doc = dict(body)
            start = _instant(doc.pop("effective_from", None))
            seed.plans[plan_id] = Version(1, start, RECORDED_AT, parse_policy(doc))
        return seed

    def lookup(self, calendar_id: str) -> CalendarTimeline:
        # KeyError for an unknown id: a plan must never fall back to another calendar.
        return self.calendars[calendar_id]

    def plan_at(self, plan_id: str, opened_at: datetime) -> Version[Policy]:
        version = in_effect_at([self.plans[plan_id]], opened_at)
        assert version is not None, f"{plan_id} has no version in effect at {opened_at}"
        return version

    def state(self, ticket: Ticket, at: str) -> TicketState:
        opened = ticket.events[0]
        plan = self.plan_at(str(opened.data["plan"]), opened.occurred_at)
        return evaluate(ticket.ticket_id, ticket.events, plan, self.lookup, utc(at))

    def clock(self, ticket: Ticket, at: str, metric: str = "response") -> Clock:
        found = self.state(ticket, at).clock(metric)
        assert found is not None, f"no {metric} clock"
        return found

    def due(self, ticket: Ticket, at: str, metric: str = "response") -> datetime | None:
        return self.clock(ticket, at, metric).due_at


# --- the labelled example values ----------------------------------------------------


def all_paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every path in a document: each mapping key and list index, at every depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = (*prefix, str(key))
            yield path
            yield from all_paths(value, path)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            path = (*prefix, str(index))
            yield path
            yield from all_paths(value, path)


def pattern_matches(pattern: str, path: Path_) -> bool:
    """A dotted pattern (``*`` matches one whole segment's characters) against a path."""
    segments = pattern.split(".")
    return len(segments) == len(path) and all(
        fnmatchcase(part, glob) for part, glob in zip(path, segments, strict=True)
    )


def is_labelled(patterns: list[str], path: Path_) -> bool:
    """True when ``path`` or one of its ancestors is named by an example_values pattern."""
    return any(pattern_matches(p, path[:n]) for p in patterns for n in range(1, len(path) + 1))


def target_paths(document: dict[str, Any]) -> set[Path_]:
    """The path of every target of every metric of every plan in the file."""
    return {
        ("policies", plan_id, "metrics", metric, "targets", priority)
        for plan_id, body in document["policies"].items()
        for metric, item in body["metrics"].items()
        for priority in item["targets"]
    }
