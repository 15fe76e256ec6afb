"""What a process does at start with the database's schema revision (service/migrations)."""

from __future__ import annotations

import pytest

from service.migrations import SchemaNotReady
from service.migrations.schema import BASELINE, SchemaState, needs_upgrade

KNOWN = ("0001_baseline", "0002_next", "0003_head")
HEAD = "0003_head"


def decide(state: SchemaState, *, auto: bool = False) -> bool:
    return needs_upgrade(state, head=HEAD, known=KNOWN, auto_migrate=auto)


def test_a_new_database_is_created_without_being_asked() -> None:
    assert decide(SchemaState(None, versioned=False)) is True


def test_a_database_at_head_is_used_as_it_is() -> None:
    assert decide(SchemaState(HEAD, versioned=True)) is False


def test_an_unversioned_database_at_the_baseline_is_used_while_the_baseline_is_head() -> None:
    state = SchemaState(BASELINE, versioned=False)
    assert needs_upgrade(state, head=BASELINE, known=(BASELINE,), auto_migrate=False) is False


@pytest.mark.parametrize("state", [SchemaState("0002_next", True), SchemaState(BASELINE, False)])
def test_a_database_behind_head_is_refused_naming_the_command(state: SchemaState) -> None:
    with pytest.raises(SchemaNotReady, match=r"needs '0003_head': run `slaclock migrate`"):
        decide(state)


def test_a_database_behind_head_is_upgraded_when_auto_migrate_is_on() -> None:
    assert decide(SchemaState("0001_baseline", versioned=True), auto=True) is True


@pytest.mark.parametrize("auto", [False, True])
def test_a_revision_from_a_newer_release_is_refused_even_with_auto_migrate(auto: bool) -> None:
    with pytest.raises(SchemaNotReady, match="does not know"):
        decide(SchemaState("0004_future", versioned=True), auto=auto)
