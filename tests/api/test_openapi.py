"""The committed openapi/openapi.json is the app's own document: a test fails on drift."""

from __future__ import annotations

import json
from pathlib import Path

from service.cli.main import openapi_text

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_text(), (
        "openapi/openapi.json is stale: run `make openapi` and commit it"
    )


def test_operation_ids_are_stable_and_unique() -> None:
    document = json.loads(openapi_text())
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    for expected in (
        "post_ticket_event",
        "post_event_batch",
        "get_ticket",
        "get_ticket_events",
        "put_calendar",
        "put_policy",
        "get_clock_segments",
        "healthz",
        "readyz",
    ):
        assert expected in ids


def test_every_error_status_is_documented() -> None:
    document = json.loads(openapi_text())
    post = document["paths"]["/v1/tickets/{ticket_id}/events"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "404", "409", "413", "422"} <= set(post)
    problem = post["409"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    assert "Problem" in document["components"]["schemas"]
