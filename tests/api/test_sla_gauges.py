"""SLA gauges in /metrics, scraped over HTTP with a metrics:read token (SQLite and PostgreSQL).

Tickets are posted with instants in the past so that, by the wall clock, one
response clock is already due, two are past their warning instant and one of
those comes due a few seconds into the test: with no further event, the next
scrape must count it breached, as ``GET /v1/breaches`` lists it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.cli.main import open_token_store
from service.settings import Settings
from service.storage.database import DatabaseConfig, create_sql_engine
from tests.api.conftest import unique
from tests.api.fixtures import define_plan, event, opened
from tests.support.server import ADMIN_TOKEN, admin_client, running_server
from tests.support.waiting import eventually

# How far in the future the last at-risk clock comes due: long enough for the posts,
# the projection and a first scrape on a busy machine.
COMES_DUE_IN = timedelta(seconds=10)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def server(module_database_url: str) -> Iterator[tuple[str, str]]:
    settings = Settings(database_url=module_database_url, admin_token=ADMIN_TOKEN)
    with open_token_store(settings) as store:
        _, metrics_token = store.create(["metrics:read"], name="prometheus")
    with running_server(settings) as base:
        yield base, metrics_token


def scrape(base: str, token: str) -> Samples:
    response = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def _at(instant: datetime) -> str:
    return instant.isoformat()


def _post(client: httpx.Client, ticket: str, body: dict[str, Any]) -> int:
    response = client.post(f"/v1/tickets/{ticket}/events", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def _post_tickets(client: httpx.Client, plan: str, now: datetime) -> datetime:
    """Critical tickets (response: 30 minutes on 24x7, at risk after 22.5); returns when
    the last at-risk response clock comes due."""
    due_soon = now + COMES_DUE_IN
    ago = {"late": 40, "met": 40, "risky": 25, "closed": 120}
    for name, minutes in ago.items():
        body = opened("e1", plan, _at(now - timedelta(minutes=minutes)), priority="critical")
        _post(client, f"{plan}-{name}", body)
    _post(client, f"{plan}-met", event("e2", "responded", _at(now - timedelta(minutes=35))))
    _post(client, f"{plan}-closed", event("e2", "responded", _at(now - timedelta(minutes=60))))
    _post(client, f"{plan}-closed", event("e3", "resolved", _at(now - timedelta(minutes=50))))
    soon = opened("e1", plan, _at(due_soon - timedelta(minutes=30)), priority="critical")
    last = _post(client, f"{plan}-soon", soon)
    waited = client.get("/v1/breaches", params={"plan": plan, "min_position": last})
    assert waited.status_code == 200, waited.text
    return due_soon


def _response(samples: Samples, plan: str) -> dict[str, float | None]:
    group = {"plan": plan, "priority": "critical", "metric": "response"}
    return {
        "open_breached": sample(samples, "slaclock_sla_breached_clocks", **group),
        "at_risk": sample(samples, "slaclock_sla_at_risk_clocks", **group),
        **{
            outcome: sample(samples, "slaclock_sla_clocks", **group, outcome=outcome)
            for outcome in ("met", "breached", "pending")
        },
        "attainment": sample(
            samples, "slaclock_sla_attainment_ratio", plan=plan, metric="response"
        ),
    }


def test_gauges_count_open_breaches_risk_and_attainment_as_time_passes(
    server: tuple[str, str],
) -> None:
    base, token = server
    with admin_client(base) as client:
        plan = unique("plan")
        define_plan(client, unique("dublin"), plan)
        due_soon = _post_tickets(client, plan, datetime.now(UTC))
        listed = client.get("/v1/breaches", params={"plan": plan, "open_only": "true"}).json()
    before = scrape(base, token)
    assert datetime.now(UTC) < due_soon, "too slow to see the clock before it came due"
    # "late" is breached by time alone; "closed" breached at an event but is not open.
    assert [i["ticket_id"] for i in listed["items"]] == [f"{plan}-late"]
    assert _response(before, plan) == {
        "open_breached": 1.0,
        "at_risk": 2.0,  # "risky" and "soon"
        "met": 1.0,
        "breached": 2.0,  # "late" and "closed"
        "pending": 2.0,
        "attainment": 1 / 3,
    }
    time.sleep(max(0.0, (due_soon - datetime.now(UTC)).total_seconds()))
    assert eventually(lambda: _response(scrape(base, token), plan)["at_risk"] == 1.0)
    after = scrape(base, token)
    assert _response(after, plan) == {
        "open_breached": 2.0,
        "at_risk": 1.0,
        "met": 1.0,
        "breached": 3.0,
        "pending": 1.0,
        "attainment": 0.25,
    }
    _check_labels(before, plan)
    with admin_client(base) as client:
        _agrees_with_the_api(client, after, plan)


def _agrees_with_the_api(client: httpx.Client, samples: Samples, plan: str) -> None:
    """Every group's figures are the compliance report's and the breach listings' counts."""
    groups = client.get("/v1/reports/compliance", params={"plan": plan}).json()["groups"]
    assert len(groups) == 3  # critical: response, relief, resolution
    for g in groups:
        labels = {"plan": plan, "priority": g["priority"], "metric": g["metric"]}
        for outcome in ("met", "breached", "pending"):
            assert sample(samples, "slaclock_sla_clocks", **labels, outcome=outcome) == g[outcome]
        for state, name in (("breached", "breached_clocks"), ("at_risk", "at_risk_clocks")):
            query = labels | {"state": state, "open_only": "true"}
            listed = client.get("/v1/breaches", params=query).json()["items"]
            assert sample(samples, f"slaclock_sla_{name}", **labels) == len(listed)


def _check_labels(samples: Samples, plan: str) -> None:
    """Every group of the plan has a sample (0 included), labelled by group only."""
    mine = [(n, dict(labels)) for n, labels in samples if dict(labels).get("plan") == plan]
    allowed = {"plan", "priority", "metric", "outcome"}
    assert all(set(labels) <= allowed for _, labels in mine)
    relief = {"plan": plan, "priority": "critical", "metric": "relief"}
    assert sample(samples, "slaclock_sla_breached_clocks", **relief) == 0.0
    assert sample(samples, "slaclock_sla_objective_ratio", plan=plan, metric="relief") == 0.95
    assert sample(samples, "slaclock_sla_objective_ratio", plan=plan, metric="response") is None


def test_read_models_of_an_older_release_leave_the_other_series(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'old.db'}",
        admin_token=ADMIN_TOKEN,
        projections_enabled=False,
    )
    with running_server(settings) as base:
        up = scrape(base, ADMIN_TOKEN)
        assert sample(up, "slaclock_sla_gauges_up") == 1.0
        # As a database made before the SLA gauges' counters, until `slaclock rebuild`.
        engine = create_sql_engine(DatabaseConfig.parse(settings.database_url))
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE slaproj_g1_compliance DROP COLUMN open_breach")
        engine.dispose()
        down = scrape(base, ADMIN_TOKEN)
    assert sample(down, "slaclock_sla_gauges_up") == 0.0
    assert sample(down, "slaclock_projection_generation", projection="tickets") == 1.0
    assert any(name == "slaclock_http_requests_total" for name, _ in down)


# --- the Grafana dashboard ---------------------------------------------------------

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "slaclock.json"
# Label lists, label matchers, range selectors, strings and dashboard variables: not names.
_NOT_NAMES = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    r"|\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"|\$\w+"
)
_WORD = re.compile(r"\b[A-Za-z_:][A-Za-z0-9_:]*\b(?!\s*\()")  # a function name is followed by "("
_KEYWORDS = {"and", "or", "unless", "bool", "offset"}


def metric_names(promql: str) -> set[str]:
    return {w for w in _WORD.findall(_NOT_NAMES.sub(" ", promql)) if w not in _KEYWORDS}


def _queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", variable["query"]["query"])
            assert inner, variable
            yield variable["name"], inner.group(1)


def test_metric_names_in_promql() -> None:
    promql = (
        'histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{a=~"b"}[$__rate_interval])))'
        " - on (plan) y_ratio > bool 0"
    )
    assert metric_names(promql) == {"x_bucket", "y_ratio"}


def test_every_dashboard_query_names_only_exposed_metrics(server: tuple[str, str]) -> None:
    base, token = server
    with admin_client(base) as client:
        plan = unique("plan")
        define_plan(client, unique("dublin"), plan)
        # A responded clock makes attainment, and a request makes the latency histogram.
        _post(client, f"{plan}-1", opened("e1", plan, priority="high"))
        last = _post(client, f"{plan}-1", event("e2", "responded", "2026-03-16T17:00:00Z"))
        assert client.get("/v1/tickets", params={"min_position": last}).status_code == 200
    exposed = {name for name, _ in scrape(base, token)}
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels)
    used: set[str] = set()
    for where, promql in _queries(dashboard):
        names = metric_names(promql)
        assert names, f"{where}: no metric in {promql!r}"
        assert names <= exposed, f"{where}: {sorted(names - exposed)} not in /metrics"
        used |= names
    assert {
        "slaclock_sla_breached_clocks",
        "slaclock_sla_at_risk_clocks",
        "slaclock_sla_attainment_ratio",
        "slaclock_sla_objective_ratio",
        "slaclock_http_requests_total",
        "slaclock_http_request_duration_seconds_bucket",
        "slaclock_projection_lag_seconds",
    } <= used
