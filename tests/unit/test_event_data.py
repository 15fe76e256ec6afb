"""An event's ``data`` that is not text where text belongs is a 422, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import ValidationFailed
from domain.events import EventType, validate_data


@pytest.mark.parametrize("kind", [{}, [], 3, True])
def test_an_opened_kind_that_is_not_text_is_refused_naming_kind(kind: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate_data(EventType.OPENED, {"plan": "p", "kind": kind})
    assert [e.field for e in refused.value.errors] == ["data.kind"]


def test_an_opened_kind_defaults_to_incident_and_nulls_are_dropped() -> None:
    clean = validate_data(EventType.OPENED, {"plan": "p", "channel": None})
    assert clean == {"plan": "p", "kind": "incident"}
