"""Calendars and policies over real HTTP: versioned, validated, never overwritten."""

from __future__ import annotations

import copy

import httpx

from tests.api.conftest import unique
from tests.api.fixtures import DUBLIN, standard_policy


def error_fields(response: httpx.Response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


def test_calendar_put_creates_versions_and_unchanged_put_is_200(client: httpx.Client) -> None:
    calendar = unique("cal")
    first = client.put(f"/v1/calendars/{calendar}", json=DUBLIN)
    assert first.status_code == 201
    assert first.json() == {"calendar_id": calendar, "version": 1, "effective_from": None}
    same = client.put(f"/v1/calendars/{calendar}", json=DUBLIN)
    assert (same.status_code, same.json()) == (200, first.json())
    changed = copy.deepcopy(DUBLIN) | {"extra_closed": ["2026-12-24"]}
    second = client.put(f"/v1/calendars/{calendar}", json=changed)
    assert second.status_code == 201
    assert second.json()["version"] == 2
    assert second.json()["effective_from"] is not None  # a later version starts when stored
    newest = client.get(f"/v1/calendars/{calendar}").json()
    assert newest["version"] == 2
    assert newest["extra_closed"] == ["2026-12-24"]
    older = client.get(f"/v1/calendars/{calendar}", params={"version": 1}).json()
    assert older["extra_closed"] == []
    assert older["timezone"] == "Europe/Dublin"
    versions = client.get(f"/v1/calendars/{calendar}/versions").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]


def test_builtin_24x7_exists_and_cannot_be_redefined(client: httpx.Client) -> None:
    body = client.get("/v1/calendars/24x7").json()
    assert body["calendar_id"] == "24x7"
    assert client.put("/v1/calendars/24x7", json=DUBLIN).status_code == 409


def test_calendar_validation_names_each_bad_field(client: httpx.Client) -> None:
    bad = copy.deepcopy(DUBLIN) | {
        "timezone": "Mars/Olympus",
        "week": {
            "mon": [["09:00", "12:00"], ["11:00", "17:00"]],
            "tue": [["17:00", "09:00"]],
            "funday": [],
        },
        "holidays": {"country": "XX"},
    }
    response = client.put(f"/v1/calendars/{unique('cal')}", json=bad)
    assert response.status_code == 422
    fields = error_fields(response)
    assert "timezone" in fields
    assert "holidays.country" in fields
    assert any(f.startswith("week.mon") for f in fields)
    assert any(f.startswith("week.tue") for f in fields)
    assert any(f.startswith("week.funday") for f in fields)


def test_policy_put_get_versions(client: httpx.Client) -> None:
    calendar, plan = unique("cal"), unique("plan")
    client.put(f"/v1/calendars/{calendar}", json=DUBLIN)
    first = client.put(f"/v1/policies/{plan}", json=standard_policy(calendar))
    assert first.status_code == 201
    assert first.json() == {"plan_id": plan, "version": 1, "effective_from": "2025-01-01T00:00:00Z"}
    assert client.put(f"/v1/policies/{plan}", json=standard_policy(calendar)).status_code == 200
    raised = standard_policy(calendar) | {"warning_fraction": 0.5}
    raised.pop("effective_from")
    second = client.put(f"/v1/policies/{plan}", json=raised)
    assert second.status_code == 201
    assert second.json()["version"] == 2
    assert client.get(f"/v1/policies/{plan}").json()["warning_fraction"] == 0.5
    assert client.get(f"/v1/policies/{plan}", params={"version": 1}).json()["version"] == 1
    assert client.get(f"/v1/policies/{plan}", params={"version": 9}).status_code == 404
    assert len(client.get(f"/v1/policies/{plan}/versions").json()["versions"]) == 2


def test_policy_referring_to_unknown_calendars_is_422(client: httpx.Client) -> None:
    body = standard_policy("no-such-calendar") | {"calendar_overrides": {"critical": "nor-this"}}
    response = client.put(f"/v1/policies/{unique('plan')}", json=body)
    assert response.status_code == 422
    assert {"calendar", "calendar_overrides.critical"} <= error_fields(response)


def test_policy_with_undeclared_priorities_is_422(client: httpx.Client) -> None:
    calendar = unique("cal")
    client.put(f"/v1/calendars/{calendar}", json=DUBLIN)
    body = standard_policy(calendar)
    body["default_priority"] = "P0"
    body["metrics"]["response"]["targets"]["P9"] = {"hours": 1}
    body["metrics"]["relief"]["targets"]["high"] = {"fortnights": 1}
    response = client.put(f"/v1/policies/{unique('plan')}", json=body)
    assert response.status_code == 422
    fields = error_fields(response)
    assert "default_priority" in fields
    assert any("P9" in f for f in fields)
    assert any(f.startswith("metrics.relief.targets.high") for f in fields)


def test_unknown_policy_or_calendar_is_404(client: httpx.Client) -> None:
    assert client.get(f"/v1/policies/{unique('plan')}").status_code == 404
    assert client.get(f"/v1/calendars/{unique('cal')}/versions").status_code == 404


def test_oversized_documents_are_422_naming_the_field(client: httpx.Client) -> None:
    calendar = unique("big")
    shifts = [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(24)] + [["23:40", "23:50"]]
    response = client.put(f"/v1/calendars/{calendar}", json=DUBLIN | {"week": {"mon": shifts}})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["week.mon"]
    assert client.put(f"/v1/calendars/{calendar}", json=DUBLIN).status_code == 201
    policy = standard_policy(calendar) | {"priorities": [f"P{n}" for n in range(40_000)]}
    response = client.put(f"/v1/policies/{unique('big')}", json=policy)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["priorities"]
