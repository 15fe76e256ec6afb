"""The dashboard in a real headless Chromium: sign-in, overview, timelines, pickers, charts.

The DOM is checked against the JSON API: the SVG stretches of a clock are its
segment ledger (count, kinds, instants), placed at x proportional to time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.api.conftest import unique
from tests.api.fixtures import define_plan, event, opened
from tests.support.server import ADMIN_TOKEN
from tests.ui.conftest import CHROMIUM_ARGS

AS_OF = "2026-03-04T12:00:00Z"


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(
    browser: Browser, base_url: str, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url)
    opened_page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    opened_page.on("console", on_console)
    opened_page.on("pageerror", lambda error: errors.append(str(error)))
    yield opened_page
    shot = artifacts / f"{request.node.name}.png"
    opened_page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    context.close()
    assert errors == [], f"console errors: {errors}"


@pytest.fixture(scope="module")
def story(client: httpx.Client) -> dict[str, str]:
    """A plan, a contract with a suspension and work logs, and a ticket bound to it."""
    plan, contract, ticket = unique("plan"), unique("contract"), unique("T")
    define_plan(client, unique("dublin"), plan)
    term = {"start": "2026-03-01", "months": 12, "timezone": "UTC"}
    hours = {"id": "hours", "unit": "hours", "amount": 20}
    facts = [
        ("contract_started", "2026-03-01T00:00:00Z", {"customer": unique("c"), "plan": plan,
                                                     "term": term, "allowances": [hours]}),
        ("work_logged", "2026-03-02T11:00:00Z", {"allowance": "hours", "amount": 1.5}),
        ("sla_suspended", "2026-03-03T10:00:00Z", {"reason": "unpaid"}),
        ("sla_reinstated", "2026-03-03T12:00:00Z", {}),
        ("work_logged", "2026-03-04T11:00:00Z", {"allowance": "hours", "amount": 4}),
    ]  # fmt: skip
    for kind, at, data in facts:
        answer = client.post(
            f"/v1/contracts/{contract}/events", json=event(unique("c"), kind, at, **data)
        )
        assert answer.status_code == 201, answer.text
    for body in (
        opened("e1", plan, "2026-03-02T09:00:00Z", contract=contract, priority="normal"),
        event("e2", "awaiting_customer", "2026-03-02T14:00:00Z"),
        event("e3", "customer_replied", "2026-03-02T16:00:00Z"),
        event("e4", "priority_changed", "2026-03-04T09:30:00Z", priority="high"),
    ):
        answer = client.post(f"/v1/tickets/{ticket}/events", json=body)
        assert answer.status_code == 201, answer.text
    return {"plan": plan, "contract": contract, "ticket": ticket}


def sign_in(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_url(re.compile(r"/ui/sign-in\?next="))
    page.fill("#token", ADMIN_TOKEN)
    page.press("#token", "Enter")
    page.wait_for_url(re.compile(re.escape(path) + "$"))


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _segments(client: httpx.Client, ticket: str, metric: str, as_of: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/tickets/{ticket}/clocks/{metric}/segments", params={"as_of": as_of})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["segments"])


def _drawn(page: Page, metric: str) -> dict[str, Any]:
    return page.eval_on_selector(
        f'svg.timeline[data-metric="{metric}"]',
        """svg => ({
            t0: svg.dataset.t0, t1: svg.dataset.t1,
            x0: Number(svg.dataset.x0), x1: Number(svg.dataset.x1),
            rects: [...svg.querySelectorAll("rect.seg")].map(r => ({
                kind: r.dataset.kind, start: r.dataset.start, end: r.dataset.end,
                x: Number(r.getAttribute("x")), width: Number(r.getAttribute("width")),
            })),
            marks: [...svg.querySelectorAll("line.mark")].map(m => m.dataset.kind),
            ticks: [...svg.querySelectorAll("line.tick")].map(t => t.dataset.type),
        })""",
    )


def _assert_matches_ledger(drawn: dict[str, Any], ledger: list[dict[str, Any]]) -> None:
    assert [r["kind"] for r in drawn["rects"]] == [s["kind"] for s in ledger]
    t0, t1 = _seconds(drawn["t0"]), _seconds(drawn["t1"])
    scale = (drawn["x1"] - drawn["x0"]) / (t1 - t0)
    for rect, segment in zip(drawn["rects"], ledger, strict=True):
        assert _seconds(rect["start"]) == _seconds(segment["start"])
        assert _seconds(rect["end"]) == _seconds(segment["end"])
        assert rect["x"] == pytest.approx(
            drawn["x0"] + (_seconds(segment["start"]) - t0) * scale, abs=0.01
        )
        expected_width = (_seconds(segment["end"]) - _seconds(segment["start"])) * scale
        assert rect["width"] == pytest.approx(expected_width, abs=0.01)


def test_an_unsigned_visit_goes_to_sign_in_and_a_bad_token_is_refused(
    page: Page, story: dict[str, str]
) -> None:
    path = f"/ui/tickets/{story['ticket']}"
    page.goto(path)
    page.wait_for_url(re.compile(r"/ui/sign-in\?next="))
    page.fill("#token", "slk_nope_nope")
    page.click("button[type=submit]")
    assert "unknown or revoked" in page.inner_text("#sign-in-error")
    page.fill("#token", ADMIN_TOKEN)
    page.press("#token", "Enter")
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["path"], cookie["httpOnly"], cookie["sameSite"]) == (
        "slaclock_ui", "/ui", True, "Strict",
    )  # fmt: skip
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/ui/sign-in$"))
    assert page.context.cookies() == []
    page.goto("/ui")
    page.wait_for_url(re.compile(r"/ui/sign-in\?next=/ui$"))


def test_each_clock_is_drawn_from_its_segment_ledger(
    page: Page, client: httpx.Client, story: dict[str, str]
) -> None:
    ticket = story["ticket"]
    sign_in(page, f"/ui/tickets/{ticket}?as_of=2026-03-04T12%3A00%3A00Z")
    kinds = set()
    for metric in ("response", "relief", "resolution"):
        drawn = _drawn(page, metric)
        ledger = _segments(client, ticket, metric, AS_OF)
        _assert_matches_ledger(drawn, ledger)
        kinds |= {r["kind"] for r in drawn["rects"]}
        assert drawn["ticks"] == [
            "opened",
            "awaiting_customer",
            "customer_replied",
            "priority_changed",
        ]
        clock = next(
            c
            for c in client.get(f"/v1/tickets/{ticket}", params={"as_of": AS_OF}).json()["clocks"]
            if c["metric"] == metric
        )
        expected = [
            k
            for k, at in (
                ("warn", clock["warn_at"]),
                ("due", clock["due_at"]),
                ("breach", clock["breached_at"]),
            )
            if at
        ]
        assert drawn["marks"] == expected
    assert {"running", "outside_hours", "suspended"} <= kinds


def test_the_as_of_picker_redraws_the_timelines(
    page: Page, client: httpx.Client, story: dict[str, str]
) -> None:
    ticket = story["ticket"]
    sign_in(page, f"/ui/tickets/{ticket}?as_of=2026-03-04T12%3A00%3A00Z")
    before = len(_drawn(page, "resolution")["rects"])
    page.fill("#as_of", "2026-03-02T15:00:00")
    page.press("#as_of", "Enter")
    page.wait_for_url(re.compile(r"as_of=2026-03-02T15%3A00"))
    assert page.inner_text("#evaluated-at") == "2026-03-02 15:00:00 UTC"
    drawn = _drawn(page, "resolution")
    ledger = _segments(client, ticket, "resolution", "2026-03-02T15:00:00Z")
    _assert_matches_ledger(drawn, ledger)
    assert len(drawn["rects"]) < before
    assert drawn["rects"][-1]["kind"] == "paused"
    assert drawn["ticks"] == ["opened", "awaiting_customer"]


def test_the_overview_lists_breaches_refreshes_and_works_by_keyboard(
    page: Page, client: httpx.Client, story: dict[str, str], artifacts: Path
) -> None:
    sign_in(page, "/ui?window=all")
    row = f'#breached tr[data-ticket="{story["ticket"]}"]'
    page.wait_for_selector(row)
    assert (
        page.locator(
            f'table.compliance[data-plan="{story["plan"]}"] tr[data-metric="response"]'
        ).count()
        == 1
    )
    late = unique("T")
    answer = client.post(
        f"/v1/tickets/{late}/events", json=opened("e1", story["plan"], "2026-03-05T09:00:00Z")
    )
    assert answer.status_code == 201, answer.text
    # No reload: the page's script fetches the clock tables again every second.
    page.wait_for_selector(f'#breached tr[data-ticket="{late}"]', timeout=15_000)
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.outerHTML.slice(0, 120)"))
        if f'href="/ui/tickets/{late}"' in reached[-1]:
            break
    assert any("Skip to content" in r for r in reached)
    assert any('id="go-id"' in r for r in reached)
    assert f'href="/ui/tickets/{late}"' in reached[-1]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/ui/tickets/{late}$"))
    assert page.locator("svg.timeline").count() == 3


def test_the_look_up_form_opens_the_contracts_burn_down(page: Page, story: dict[str, str]) -> None:
    sign_in(page, "/ui")
    page.select_option("#go-kind", "contract")
    page.fill("#go-id", story["contract"])
    page.press("#go-id", "Enter")
    page.wait_for_url(re.compile(f"/ui/contracts/{story['contract']}$"))
    balances = page.eval_on_selector_all(
        "svg.burn-down circle.point", "cs => cs.map(c => Number(c.dataset.balance))"
    )
    assert balances == [20, 18.5, 14.5, 14.5]
    assert "14.5 of 20 hours left" in page.inner_text("h2")


def test_a_services_uptime_is_drawn_against_its_tiers(page: Page, client: httpx.Client) -> None:
    from tests.api.uptime_support import define_uptime_plan, post_outage

    service = unique("svc")
    define_uptime_plan(client, unique("up"), service)
    post_outage(client, service, "2026-02-10T10:00:00Z", "2026-02-10T12:00:00Z")
    sign_in(page, f"/ui/services/{service}?from=2026-01&to=2026-03")
    bars = page.eval_on_selector_all(
        "svg.uptime rect.bar", "bs => bs.map(b => [b.dataset.month, Number(b.dataset.uptime)])"
    )
    assert [m for m, _ in bars] == ["2026-01", "2026-02", "2026-03"]
    assert bars[0][1] == 1.0
    assert bars[1][1] == pytest.approx(1 - 2 / (28 * 24))
    assert page.locator("svg.uptime line.tier").count() == 2
    assert page.locator('tr[data-month="2026-02"]').inner_text().count("below") == 1


def test_the_json_api_ignores_the_dashboard_cookie(base_url: str) -> None:
    with httpx.Client(base_url=base_url, cookies={"slaclock_ui": ADMIN_TOKEN}) as http:
        assert http.get("/v1/tickets").status_code == 401
        assert "/ui" not in str(http.get("/openapi.json").json()["paths"])
