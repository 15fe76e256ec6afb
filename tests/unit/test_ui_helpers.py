"""The dashboard's pure helpers: where sign-in may send you, pickers, months, freshness."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from domain.errors import ValidationFailed
from service.ui.freshness import Recent
from service.ui.months import default_months
from service.ui.overview import window_start
from service.ui.pages import parse_instant, picker_value
from service.ui.session import safe_next
from service.ui.timeline import X0, X1, Window


@pytest.mark.parametrize(
    ("asked", "sent_to"),
    [
        ("/ui/tickets/T-1?as_of=x", "/ui/tickets/T-1?as_of=x"),
        ("https://evil.example/ui", "/ui"),
        ("//evil.example/ui", "/ui"),
        ("/v1/tickets", "/ui"),
        ("/ui\\..\\x", "/ui"),
        (None, "/ui"),
    ],
)
def test_sign_in_only_sends_you_to_a_dashboard_page(asked: str | None, sent_to: str) -> None:
    assert safe_next(asked) == sent_to


def test_a_picker_reads_local_times_as_utc_and_keeps_offsets() -> None:
    assert parse_instant("2026-03-02T15:00", "as_of") == datetime(2026, 3, 2, 15, tzinfo=UTC)
    with_offset = parse_instant("2026-03-02T15:00:00+01:00", "as_of")
    assert with_offset == datetime(2026, 3, 2, 14, tzinfo=UTC)
    assert parse_instant("  ", "as_of") is None
    with pytest.raises(ValidationFailed, match="as_of"):
        parse_instant("yesterday", "as_of")
    assert picker_value(datetime(2026, 3, 2, 14, tzinfo=UTC)) == "2026-03-02T14:00:00"


def test_the_service_page_shows_the_last_twelve_months_by_default() -> None:
    now = datetime(2026, 3, 5, tzinfo=UTC)
    assert default_months(now, None, None) == ("2025-04", "2026-03")
    assert default_months(now, None, "2026-01") == ("2025-02", "2026-01")
    assert default_months(now, "2026-02", None) == ("2026-02", "2026-03")


def test_the_compliance_window_starts_on_a_whole_utc_day() -> None:
    now = datetime(2026, 3, 31, 15, 20, tzinfo=UTC)
    assert window_start("30", now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert window_start("all", now) is None


def test_x_is_proportional_to_time_and_clamped_to_the_band() -> None:
    window = Window(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    assert window.x(datetime(2026, 3, 1, tzinfo=UTC)) == X0
    assert window.x(datetime(2026, 3, 6, tzinfo=UTC)) == pytest.approx((X0 + X1) / 2)
    assert window.x(datetime(2026, 4, 1, tzinfo=UTC)) == X1


def test_recent_values_are_recomputed_in_the_background_once_stale() -> None:
    now = [0.0]
    recent: Recent[int] = Recent(10.0, now=lambda: now[0])
    computed: list[int] = []
    done = threading.Event()

    def compute() -> int:
        computed.append(len(computed) + 1)
        if len(computed) > 1:
            done.set()
        return computed[-1]

    assert recent.get("k", compute) == 1
    now[0] = 5.0
    assert recent.get("k", compute) == 1  # fresh enough: not recomputed
    now[0] = 11.0
    assert recent.get("k", compute, wait=0) in (1, 2)  # stale: a refresh is started
    assert done.wait(5)
    for _ in range(100):
        if recent.get("k", compute) == 2:
            break
        threading.Event().wait(0.01)
    assert recent.get("k", compute) == 2
    assert computed == [1, 2]


def test_max_age_zero_computes_every_time() -> None:
    calls: list[int] = []
    recent: Recent[int] = Recent(0)
    for _ in range(3):
        recent.get("k", lambda: calls.append(1) or len(calls))
    assert len(calls) == 3


def test_a_first_value_not_ready_within_the_wait_is_none_until_computed() -> None:
    release = threading.Event()
    recent: Recent[str] = Recent(30.0)

    def slow() -> str:
        release.wait(5)
        return "report"

    assert recent.get("k", slow, wait=0.01) is None
    release.set()
    assert recent.get("k", slow, wait=5) == "report"
