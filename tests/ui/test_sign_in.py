"""Signing in to the dashboard over real HTTP: which tokens it takes, and bad input."""

from __future__ import annotations

import httpx

from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.tokens import TokenStore
from tests.support.server import ADMIN_TOKEN

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _sign_in(base_url: str, token: str) -> httpx.Response:
    with httpx.Client(base_url=base_url) as http:
        return http.post(
            "/ui/sign-in", content=f"token={token}&next=/ui/go?kind=ticket", headers=FORM
        )


def test_a_token_without_tickets_read_is_refused_and_sets_no_cookie(
    base_url: str, database_url: str
) -> None:
    engine = create_sql_engine(DatabaseConfig.parse(database_url))
    try:
        _, metrics_only = TokenStore(engine).create(["metrics:read"])
        _, reader = TokenStore(engine).create(["tickets:read"])
    finally:
        engine.dispose()
    refused = _sign_in(base_url, metrics_only)
    assert refused.status_code == 200
    assert "lacks the tickets:read scope" in refused.text
    assert "set-cookie" not in refused.headers
    accepted = _sign_in(base_url, reader)
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/ui/go?kind=ticket"
    cookie = accepted.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Path=/ui" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http here


def test_an_invalid_cookie_is_dropped_on_the_way_to_sign_in(base_url: str) -> None:
    with httpx.Client(base_url=base_url, cookies={"slaclock_ui": "slk_x_y"}) as http:
        answer = http.get("/ui/tickets/T-1?as_of=2026-03-02T10:00")
    assert answer.status_code == 303
    assert (
        answer.headers["location"]
        == "/ui/sign-in?next=/ui/tickets/T-1%3Fas_of%3D2026-03-02T10%3A00"
    )
    assert 'slaclock_ui=""' in answer.headers["set-cookie"]


def test_pages_answer_problems_or_error_pages_never_500(base_url: str) -> None:
    with httpx.Client(base_url=base_url, cookies={"slaclock_ui": ADMIN_TOKEN}) as http:
        assert http.get("/ui/tickets/no-such-ticket").status_code == 404
        assert http.get("/ui/tickets/x?as_of=soon").status_code == 422
        assert http.get("/ui/tickets/bad%20id").status_code == 422
        assert http.get("/ui/services/s?from=2026-13").status_code == 422
        assert http.get("/ui/services/s?from=2026-05&to=2026-01").status_code == 422
        assert http.get("/ui?window=5").status_code == 422
        assert http.get("/ui/contracts/none").status_code == 404


def test_a_fragment_asked_for_signed_out_leads_back_to_the_overview(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        answer = http.get("/ui/fragments/clocks")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sign-in?next=/ui"
