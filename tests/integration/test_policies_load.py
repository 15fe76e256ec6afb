"""`slaclock policies load policies`: the seed files stored, idempotently, and served by the API."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.calendar import calendar_document, parse_calendar
from domain.policy import parse_policy, policy_document
from service.cli.jobs import policy_files, read_policy_file
from service.cli.main import main
from service.settings import Settings
from tests.support.server import ADMIN_TOKEN, admin_client, running_server

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
WIRE_KEYS = {"calendar_id", "plan_id", "version", "effective_from", "recorded_at"}

Entry = tuple[str, str, str, dict[str, Any]]  # file name, kind, id, body


def entries(directory: Path = POLICIES) -> list[Entry]:
    """Every calendar, then every policy, in the order the loader stores them."""
    documents = [(p.name, read_policy_file(p)) for p in policy_files(directory)]
    return [
        (name, kind, key, dict(body))
        for kind, section in (("calendar", "calendars"), ("policy", "policies"))
        for name, document in documents
        for key, body in document[section].items()
    ]


def load(directory: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["policies", "load", directory]) == 0
    return capsys.readouterr().out.splitlines()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def loaded(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """The seed policies loaded once, the way the issue runs it (from the repository root)."""
    monkeypatch.setenv("SLA_DATABASE_URL", database_url)
    monkeypatch.chdir(ROOT)
    lines = load("policies", capsys)
    assert lines == [f"{n}: {kind} {key} version 1 created" for n, kind, key, _ in entries()]
    return database_url


def test_a_second_load_changes_nothing(loaded: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = load(str(POLICIES), capsys)
    assert lines == [f"{n}: {kind} {key} version 1 unchanged" for n, kind, key, _ in entries()]


def test_an_edited_plan_becomes_a_new_version_and_nothing_else_does(
    loaded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "policies"
    shutil.copytree(POLICIES, edited)
    isode = edited / "isode.yaml"
    text = isode.read_text(encoding="utf-8")
    isode.write_text(text.replace("name: Isode Gold", "name: Isode Gold Plus"), encoding="utf-8")
    changed = [line for line in load(str(edited), capsys) if not line.endswith("unchanged")]
    assert changed == ["isode.yaml: policy isode-gold version 2 created"]


def canonical(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """What GET returns for a body: the parsed document in canonical form."""
    document = {k: v for k, v in body.items() if k != "effective_from"}
    if kind == "calendar":
        return calendar_document(parse_calendar(document))
    return policy_document(parse_policy(document))


def served(database_url: str) -> Settings:
    return Settings(database_url=database_url, admin_token=ADMIN_TOKEN, projections_enabled=False)


def test_the_api_serves_every_loaded_document_and_accepts_the_same_bodies(loaded: str) -> None:
    with running_server(served(loaded)) as url, admin_client(url) as http:
        for _, kind, key, body in entries():
            path = f"/v1/{'calendars' if kind == 'calendar' else 'policies'}/{key}"
            got = http.get(path)
            assert got.status_code == 200, got.text
            stored = {k: v for k, v in got.json().items() if k not in WIRE_KEYS}
            assert stored == canonical(kind, body), key
            # The same body PUT through the API is accepted and changes nothing.
            again = http.put(path, json=body)
            assert (again.status_code, again.json()["version"]) == (200, 1), again.text
        konneqt = http.get("/v1/policies/konneqt-8x5").json()
        assert instant(konneqt["effective_from"]) == instant("2025-07-06T23:00:00Z")


def post_opened(http: httpx.Client, ticket_id: str, at: str, **data: str) -> None:
    body = {"event_id": f"{ticket_id}-opened", "type": "opened", "occurred_at": at, "data": data}
    answer = http.post(f"/v1/tickets/{ticket_id}/events", json=body)
    assert answer.status_code == 201, answer.text


def response_clock(http: httpx.Client, ticket_id: str, as_of: str) -> dict[str, Any]:
    state = http.get(f"/v1/tickets/{ticket_id}", params={"as_of": as_of}).json()
    clock: dict[str, Any] = next(c for c in state["clocks"] if c["metric"] == "response")
    return {"priority": state["priority"], **clock}


def test_tickets_on_loaded_plans_get_the_seeds_clocks(loaded: str) -> None:
    with running_server(served(loaded)) as url, admin_client(url) as http:
        # Isode Silver P1, Monday 10:00 London (BST): due 14:00 London.
        post_opened(
            http, "ISODE-1", "2026-06-01T10:00:00+01:00", plan="isode-silver", priority="P1"
        )
        isode = response_clock(http, "ISODE-1", "2026-06-01T09:30:00Z")
        assert instant(isode["due_at"]) == instant("2026-06-01T13:00:00Z")
        # An emailed ticket naming no priority is medium on the central team's hours.
        post_opened(
            http,
            "UK-1",
            "2026-06-01T08:00:00+01:00",
            plan="uk-iam-vendor-standard",
            channel="email",
        )
        uk = response_clock(http, "UK-1", "2026-06-01T07:00:00Z")
        assert (uk["priority"], uk["calendar"]) == ("medium", "uk-iam-vendor-central")
        assert instant(uk["due_at"]) == instant("2026-06-01T15:00:00Z")
        # Ivanti Enhanced P1 on a Saturday runs round the clock.
        saturday = "2026-06-06T10:00:00-06:00"
        post_opened(http, "IVANTI-1", saturday, plan="ivanti-enhanced", priority="P1")
        ivanti = response_clock(http, "IVANTI-1", "2026-06-06T16:30:00Z")
        assert ivanti["calendar"] == "24x7"
        assert instant(ivanti["due_at"]) == instant("2026-06-06T17:00:00Z")
        # Konneqt's plans start on their effective date: earlier tickets are refused.
        early = {
            "event_id": "k-early",
            "type": "opened",
            "occurred_at": "2025-07-06T12:00:00-03:00",
            "data": {"plan": "konneqt-8x5"},
        }
        assert http.post("/v1/tickets/KONNEQT-0/events", json=early).status_code == 422


def test_a_bad_file_loads_nothing_and_names_file_item_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "policies"
    source.mkdir()
    shutil.copy(POLICIES / "isode.yaml", source / "isode.yaml")
    text = (source / "isode.yaml").read_text()
    (source / "isode.yaml").write_text(text.replace("hours: 4", "hours: -4", 1))
    database = tmp_path / "data" / "x.db"
    monkeypatch.setenv("SLA_DATABASE_URL", f"sqlite:///{database}")
    assert main(["policies", "load", str(source)]) == 1
    error = capsys.readouterr().err
    assert "nothing was loaded" in error
    assert "isode.yaml: policy" in error
    assert ".hours:" in error
    assert not database.exists()
