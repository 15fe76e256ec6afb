"""The Dockerfile's key properties, checked as text (no Docker engine is needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def stages(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for step in steps:
        if step[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(step)
    return found


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def runtime(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return stages(steps)[-1]


def args_of(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [rest for kw, rest in stage if kw == keyword]


def test_it_is_multi_stage_on_slim_python_3_11(steps: list[tuple[str, str]]) -> None:
    [image_arg] = [rest for kw, rest in steps if kw == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    image = image_arg.split("=", 1)[1]
    assert image.startswith("python:3.11")
    assert "slim" in image
    froms = [rest for kw, rest in steps if kw == "FROM"]
    assert len(froms) >= 2
    assert froms[0] == "${PYTHON_IMAGE} AS builder"
    assert froms[-1].startswith("${PYTHON_IMAGE}")


def test_the_runtime_stage_takes_only_the_built_venv(runtime: list[tuple[str, str]]) -> None:
    copies = args_of(runtime, "COPY")
    assert copies == ["--from=builder /opt/venv /opt/venv"]
    assert not args_of(runtime, "ADD")


def test_it_runs_as_a_non_root_user(runtime: list[tuple[str, str]]) -> None:
    [user] = args_of(runtime, "USER")
    name = user.split(":", 1)[0]
    assert name not in {"root", "0"}
    assert name.isdigit(), "a numeric UID lets Kubernetes verify runAsNonRoot"
    assert any(f"--uid {name}" in rest for rest in args_of(runtime, "RUN"))


def test_data_lives_on_a_volume_with_the_sqlite_default(runtime: list[tuple[str, str]]) -> None:
    assert json.loads(args_of(runtime, "VOLUME")[0]) == ["/data"]
    env = " ".join(args_of(runtime, "ENV"))
    assert "SLA_DATABASE_URL=sqlite:////data/slaclock.db" in env.split()
    assert any("chown slaclock:slaclock /data" in rest for rest in args_of(runtime, "RUN"))


def test_it_serves_on_all_interfaces_port_8000(runtime: list[tuple[str, str]]) -> None:
    assert args_of(runtime, "EXPOSE") == ["8000"]
    assert json.loads(args_of(runtime, "CMD")[-1]) == ["slaclock", "serve", "--host", "0.0.0.0"]


def test_the_healthcheck_asks_healthz_with_python(runtime: list[tuple[str, str]]) -> None:
    [check] = args_of(runtime, "HEALTHCHECK")
    command = json.loads(check.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    assert "urllib.request" in command[2]
    assert "/healthz" in command[2]
    assert "curl" not in check
    assert "wget" not in check


def test_every_copied_source_is_in_the_build_context(steps: list[tuple[str, str]]) -> None:
    allowed = {
        line.strip()[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("!")
    }
    for rest in args_of(steps, "COPY"):
        if rest.startswith("--from="):
            continue
        *sources, _ = rest.split()
        for source in sources:
            if "*" in source or source == ".":
                continue  # optional by design, or the context .dockerignore admits
            assert (ROOT / source).exists(), source
            assert source in allowed, f"{source} is excluded by .dockerignore"


def test_the_context_leaves_out_local_state() -> None:
    text = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    rules = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "an allow-list: exclude everything, then re-include sources"
    reincluded = [rule[1:] for rule in rules if rule.startswith("!")]
    assert not [r for r in reincluded if r.startswith((".venv", ".git", "data", "tests"))]


def test_the_default_base_is_a_patch_release(steps: list[tuple[str, str]]) -> None:
    [image_arg] = [rest for kw, rest in steps if kw == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+", image_arg), image_arg


def test_dependencies_come_from_the_lock_before_the_source(
    steps: list[tuple[str, str]],
) -> None:
    builder = stages(steps)[0]
    copies = [i for i, (kw, _) in enumerate(builder) if kw == "COPY"]
    first_copy = builder[copies[0]][1].split()
    assert all(source.startswith("requirements/") for source in first_copy[:-1]), first_copy
    [install] = [
        i for i, (kw, rest) in enumerate(builder) if kw == "RUN" and "requirements/base.txt" in rest
    ]
    assert "--require-hashes" in builder[install][1]
    sources = [i for i in copies if builder[i][1].startswith((".", "service", "domain"))]
    assert sources
    assert copies[0] < install < min(sources), "a source edit would reinstall the dependencies"
    [project] = [rest for kw, rest in builder if kw == "RUN" and "/wheels" in rest]
    assert "--no-deps" in project
