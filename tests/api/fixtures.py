"""Documents the API tests post: the worked examples' Dublin calendar and Standard plan."""

from __future__ import annotations

from typing import Any

import httpx

DUBLIN: dict[str, Any] = {
    "timezone": "Europe/Dublin",
    "week": {d: [["09:00", "17:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [], "sun": []},
    "holidays": ["2026-03-17"],
    "hours_per_working_day": 8.5,
}


def standard_policy(calendar: str) -> dict[str, Any]:
    return {
        "name": "Standard",
        "effective_from": "2025-01-01T00:00:00Z",
        "calendar": calendar,
        "priorities": ["critical", "high", "normal", "low"],
        "default_priority": "normal",
        "calendar_overrides": {"critical": "24x7"},
        "metrics": {
            "response": {
                "targets": {
                    "critical": {"minutes": 30},
                    "high": {"hours": 2},
                    "normal": {"working_days": 1},
                    "low": {"working_days": 2},
                }
            },
            "relief": {
                "targets": {
                    "critical": {"hours": 4},
                    "high": {"hours": 8},
                    "normal": {"working_days": 3},
                },
                "objective": 0.95,
            },
            "resolution": {
                "targets": {
                    "critical": {"working_days": 2},
                    "high": {"working_days": 5},
                    "normal": {"working_days": 10},
                }
            },
        },
    }


def define_plan(client: httpx.Client, calendar: str, plan: str) -> None:
    assert client.put(f"/v1/calendars/{calendar}", json=DUBLIN).status_code in (200, 201)
    response = client.put(f"/v1/policies/{plan}", json=standard_policy(calendar))
    assert response.status_code in (200, 201), response.text


def opened(
    event_id: str, plan: str, at: str = "2026-03-16T16:30:00Z", **data: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "opened",
        "occurred_at": at,
        "data": {"plan": plan, **data},
    }


def event(event_id: str, kind: str, at: str, **data: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "occurred_at": at, "data": data}
