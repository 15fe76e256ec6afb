"""The lock agrees with pyproject.toml, and the pip requirement files with the lock.

`make lock` regenerates all of them; these fail when pyproject.toml changed without it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")


def load(name: str) -> dict[str, Any]:
    with (ROOT / name).open("rb") as file:
        return tomllib.load(file)


def declared() -> set[tuple[str, frozenset[str], str, SpecifierSet]]:
    """(name, extras, the extra it belongs to or "", specifier) of every requirement."""
    project = load("pyproject.toml")["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    return {
        (canonicalize_name(r.name), frozenset(r.extras), group, r.specifier)
        for group, texts in groups.items()
        for r in map(Requirement, texts)
    }


def locked_requirements() -> set[tuple[str, frozenset[str], str, SpecifierSet]]:
    [project] = [p for p in load("uv.lock")["package"] if p["name"] == "slaclock"]
    found = set()
    for entry in project["metadata"]["requires-dist"]:
        # Other markers (python_version, ...) are not compared: the specifiers are.
        extra = re.search(r"extra == '([^']+)'", entry.get("marker", ""))
        found.add(
            (
                canonicalize_name(entry["name"]),
                frozenset(entry.get("extras", [])),
                extra[1] if extra else "",
                SpecifierSet(entry.get("specifier", "")),
            )
        )
    return found


def pins(name: str) -> dict[str, set[str]]:
    """Package name to pinned versions (markers may pin two) in a requirements file."""
    lines = (ROOT / "requirements" / name).read_text(encoding="utf-8").splitlines()
    found: dict[str, set[str]] = {}
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if match:
            assert "--hash=sha256:" in lines[number + 1], f"{name}: {line} has no hash"
            found.setdefault(canonicalize_name(match[1]), set()).add(match[2])
    return found


def test_the_lock_was_made_from_this_pyproject() -> None:
    assert locked_requirements() == declared(), "pyproject.toml changed: run `make lock`"


@pytest.mark.parametrize("name", ["base.txt", "dev.txt", "bench.txt"])
def test_each_requirements_file_pins_what_the_lock_has(name: str) -> None:
    locked: dict[str, set[str]] = {}
    for package in load("uv.lock")["package"]:
        locked.setdefault(canonicalize_name(package["name"]), set()).add(package["version"])
    pinned = pins(name)
    assert pinned
    assert {
        n: v - locked.get(n, set()) for n, v in pinned.items() if v - locked.get(n, set())
    } == {}


def test_the_larger_sets_contain_the_smaller() -> None:
    base, dev, bench = pins("base.txt"), pins("dev.txt"), pins("bench.txt")
    assert base.items() <= dev.items()
    assert dev.items() <= bench.items()
    direct = {name for name, _, group, _ in declared() if group == ""}
    assert direct <= base.keys()


def test_the_build_backend_is_pinned_within_build_system_requires() -> None:
    build = pins("build.txt")
    for text in load("pyproject.toml")["build-system"]["requires"]:
        requirement = Requirement(text)
        [version] = build[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version)


@pytest.mark.parametrize("tool", ["httpx", "pytest", "hypothesis", "playwright", "ruff", "mypy"])
def test_the_runtime_set_holds_no_test_tool(tool: str) -> None:
    # The server speaks HTTP through uvicorn and its own webhook client; httpx, like the
    # test runners, is for the tests and benchmarks (requirements/dev.txt).
    assert tool not in pins("base.txt")
    assert tool in pins("dev.txt")
