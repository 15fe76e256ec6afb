"""The read lane answers ``GET /v1/tickets`` and ``GET /v1/breaches`` exactly as the routes do.

Two real servers on fresh databases get the same events, then the same reads,
one with the lane and one without; every answer must match (status, content
type, the headers clients act on, and the body, bar the server's own clock), and
the lane must have served the well-formed ones itself and left the rest alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from service.http.readlane import ReadLane
from service.settings import Settings
from tests.api.fixtures import define_plan
from tests.conftest import temporary_database
from tests.support.server import ADMIN_TOKEN
from tests.support.sides import Side, comparable, layer_of, start_side

OPENED_AT = "2026-03-02T09:15:00Z"


def _opened(ticket: int) -> dict[str, Any]:
    return {
        "ticket_id": f"T-{ticket:02}",
        "event_id": "e1",
        "type": "opened",
        "occurred_at": OPENED_AT,
        "data": {
            "plan": "standard",
            "customer": "acme" if ticket % 2 else "globex",
            "priority": "high" if ticket % 3 else "low",
        },
    }


def _set_up(http: httpx.Client) -> None:
    """A plan and seven tickets, projected."""
    define_plan(http, "dublin", "standard")
    batch = http.post("/v1/events/batch", json={"events": [*map(_opened, range(7))]})
    assert batch.status_code == 200
    position = max(result["position"] for result in batch.json()["results"])
    caught_up = http.get("/v1/tickets", params={"min_position": position})
    assert caught_up.status_code == 200


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def sides(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Side, Side]]:
    """On PostgreSQL the lane awaits its reads on the event loop, the route reads on a
    thread: the answers must still be the same."""
    with ExitStack() as stack:
        built = []
        for lane in (True, False):
            if request.param == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('readlane') / 'slaclock.db'}"
            else:
                server = request.getfixturevalue("postgres_url")
                url = stack.enter_context(temporary_database(server))
            settings = Settings(database_url=url, admin_token=ADMIN_TOKEN, read_fast_lane=lane)
            side = start_side(stack, settings, _set_up)
            # The lane takes only tokens the server already knows: a first read makes it so.
            with httpx.Client(base_url=side.base_url, timeout=30) as http:
                headers = {"Authorization": f"Bearer {side.reader_token}"}
                assert http.get("/v1/tickets", headers=headers).status_code == 200
            built.append(side)
        yield built[0], built[1]


def lane_of(side: Side) -> ReadLane:
    return layer_of(side.app, ReadLane)  # AttributeError: the app has no read lane


def answer(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if response.status_code == 200:
        body["evaluated_at"] = "<server clock>"
        body["next_cursor"] = body["next_cursor"] and "<a cursor>"  # it holds the instant
    return comparable(response, body)


def both(sides: tuple[Side, Side], query: str, auth: str | None = "reader") -> dict[str, Any]:
    """``query``: the path's tail, ``tickets?...`` or ``breaches?...``."""
    answers = []
    for side in sides:
        named = {"admin": ADMIN_TOKEN, "writer": side.writer_token, "reader": side.reader_token}
        headers = {} if auth is None else {"Authorization": f"Bearer {named.get(auth, auth)}"}
        with httpx.Client(base_url=side.base_url, timeout=30) as http:
            answers.append(answer(http.get(f"/v1/{query}", headers=headers)))
    with_lane, declared = answers
    assert with_lane == declared
    return with_lane


TICKETS_SERVED = [
    ("", 200),
    ("limit=1", 200),
    ("limit=2&customer=acme", 200),
    ("status=open&limit=3", 200),
    ("plan=standard&priority=low", 200),
    ("priority=none-such", 200),
    ("min_position=1&limit=1", 200),
    ("min_position=999999", 409),
    ("cursor=not-a-cursor", 422),
    ("customer=caf%C3%A9", 200),
]
BREACHES_SERVED = [
    ("", 200),
    ("state=at_risk", 200),
    ("metric=response&open_only=true&limit=2", 200),
    ("open_only=false&plan=standard&customer=acme", 200),
    ("state=breached&priority=high&min_position=1", 200),
    ("cursor=not-a-cursor", 422),
]
SERVED = [
    *((f"tickets?{query}", status) for query, status in TICKETS_SERVED),
    *((f"breaches?{query}", status) for query, status in BREACHES_SERVED),
]
LEFT_TO_THE_ROUTE = [
    ("tickets?limit=0", 422),
    ("tickets?limit=1001", 422),
    ("tickets?limit=abc", 422),
    ("tickets?limit=%2B1", 200),  # "+1": whatever the route makes of it, the lane does not judge
    ("tickets?status=bogus", 422),
    ("tickets?plan=", 422),
    ("tickets?customer=" + "x" * 129, 422),
    ("tickets?min_position=-1", 422),
    ("tickets?limit=1&limit=2", 200),
    ("tickets?unknown=1", 200),
    ("tickets?cursor=", 422),
    ("tickets?state=at_risk", 200),  # a breach filter: the ticket route ignores it
    ("breaches?open_only=1", 200),
    ("breaches?open_only=yes", 200),
    ("breaches?state=bogus", 422),
    ("breaches?metric=bogus", 422),
    ("breaches?status=open", 200),
]


@pytest.mark.parametrize(("query", "status"), SERVED)
def test_well_formed_reads_are_served_by_the_lane(
    sides: tuple[Side, Side], query: str, status: int
) -> None:
    served = lane_of(sides[0]).served
    assert both(sides, query)["status"] == status
    assert lane_of(sides[0]).served == served + 1
    with pytest.raises(AttributeError):
        lane_of(sides[1])
    reader = sides[0].app.state.projection_service.reader
    assert reader.awaits_reads == (sides[0].app.state.settings.database_url[:8] == "postgres")


@pytest.mark.parametrize(("query", "status"), LEFT_TO_THE_ROUTE)
def test_other_reads_go_to_the_declared_route(
    sides: tuple[Side, Side], query: str, status: int
) -> None:
    served = lane_of(sides[0]).served
    assert both(sides, query)["status"] == status
    assert lane_of(sides[0]).served == served


@pytest.mark.parametrize(("auth", "status"), [(None, 401), ("bad-token", 401), ("writer", 403)])
def test_tokens_the_lane_cannot_vouch_for_get_the_routes_answer(
    sides: tuple[Side, Side], auth: str | None, status: int
) -> None:
    served = lane_of(sides[0]).served
    assert both(sides, "tickets?limit=1", auth)["status"] == status
    assert both(sides, "breaches?limit=1", auth)["status"] == status
    assert lane_of(sides[0]).served == served


def test_pages_follow_their_own_cursor_alike(sides: tuple[Side, Side]) -> None:
    pages: list[list[list[str]]] = []
    for side in sides:
        seen: list[list[str]] = []
        query: dict[str, Any] = {"customer": "acme", "limit": 2}
        with httpx.Client(base_url=side.base_url, timeout=30) as http:
            http.headers["Authorization"] = f"Bearer {side.reader_token}"
            while True:
                page = http.get("/v1/tickets", params=query).json()
                seen.append([item["ticket_id"] for item in page["items"]])
                if page["next_cursor"] is None:
                    break
                query["cursor"] = page["next_cursor"]
        pages.append(seen)
    assert pages[0] == pages[1] == [["T-01", "T-03"], ["T-05"]]
