"""Catalog versions are validated before they reach the writer (issue 12, defect 4).

The single writer serialises every write; a big policy validated there held
every ticket event behind it. Validation now happens on the request's side, so
a malformed version is refused even while the writer takes nothing.
"""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import ValidationFailed
from service.runtime import build_runtime
from service.settings import Settings
from service.storage.writer import StoreUnavailable
from tests.api.fixtures import DUBLIN, standard_policy


def test_a_malformed_version_is_refused_without_the_writer(database_url: str) -> None:
    runtime = build_runtime(Settings(database_url=database_url), with_projections=False)
    try:
        runtime.writer.stop()
        huge = standard_policy("cal") | {"priorities": [f"P{n}" for n in range(40_000)]}
        with pytest.raises(ValidationFailed) as caught:
            asyncio.run(runtime.service.define_version("policy", "plan", huge, None))
        assert caught.value.errors[0].field == "priorities"
        with pytest.raises(ValidationFailed):
            asyncio.run(runtime.service.define_version("calendar", "cal", {"week": {}}, None))
        # A valid one still needs the writer, which also checks the calendars it names.
        with pytest.raises(StoreUnavailable):
            asyncio.run(runtime.service.define_version("calendar", "cal", DUBLIN, None))
    finally:
        runtime.close()


def test_the_writer_still_checks_the_calendars_a_policy_names(database_url: str) -> None:
    runtime = build_runtime(Settings(database_url=database_url), with_projections=False)
    try:
        with pytest.raises(ValidationFailed) as caught:
            asyncio.run(runtime.service.define_version("policy", "p", standard_policy("no"), None))
        assert {e.field for e in caught.value.errors} == {"calendar"}
        asyncio.run(runtime.service.define_version("calendar", "no", DUBLIN, None))
        receipt = asyncio.run(
            runtime.service.define_version("policy", "p", standard_policy("no"), None)
        )
        assert receipt.version == 1
    finally:
        runtime.close()
