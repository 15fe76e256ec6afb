"""`make image-test`: build the image with podman and check it as a deployment would use it.

Checks, each against a real container of the image built from this tree:
  * a source edit rebuilds neither the base nor the dependency layer;
  * the server runs as a non-root user and its HEALTHCHECK passes;
  * events survive the container: posted, container removed, read back by a new one
    on the same volume;
  * SIGTERM under load loses no acknowledged event, and the server exits by itself.
Run from the repository root with the project's virtualenv: `make image-test`.
Not collected by pytest (the file name matches no test pattern): it needs podman and
root, and takes minutes.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.api.fixtures import DUBLIN, opened, standard_policy
from tests.image.base_image import ensure_base_image
from tests.image.podman import CACHE, RUN_OPTIONS, apt_install, podman
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/slaclock:image-test"
TOKEN = "image-test-admin-token"
CONTEXT = [
    "Dockerfile",
    ".dockerignore",
    "pyproject.toml",
    "README.md",
    "requirements",
    "domain",
    "projections",
    "service",
    "policies",
]
DEPENDENCY_STEP = "pip install --require-hashes --no-deps -r requirements/base.txt"


def build(context: Path, tag: str, base: str, *options: str) -> str:
    """Builds the image; returns podman's build log (which says what came from cache)."""
    log = podman(
        "build",
        *options,
        "--isolation",
        "chroot",
        "--network",
        "host",
        # The OCI format has no HEALTHCHECK; the Docker format keeps it.
        "--format",
        "docker",
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--tag",
        tag,
        str(context),
    )
    (CACHE / f"build-{tag.rsplit(':', 1)[-1]}.log").write_text(log, encoding="utf-8")
    return log


def steps_from_cache(log: str) -> dict[str, bool]:
    """Each build step's instruction, and whether podman took it from its cache."""
    cached: dict[str, bool] = {}
    step, continued = "", False
    for line in log.splitlines():
        instruction = continued or line.startswith("STEP ")
        if continued:  # podman echoes an instruction's continuation lines as written
            del cached[step]
            step += " " + line.strip()
            cached[step] = False
        elif line.startswith("STEP "):
            step = line.split(": ", 1)[1]
            cached[step] = False
        elif line.startswith("--> Using cache") and step:
            cached[step] = True
        continued = instruction and line.rstrip().endswith("\\")
    return cached


def check_source_edit_keeps_dependency_layer(base: str) -> None:
    with tempfile.TemporaryDirectory() as work:
        context = Path(work)
        for name in CONTEXT:
            source = ROOT / name
            copy = shutil.copytree if source.is_dir() else shutil.copy2
            copy(source, context / name)
        with (context / "service" / "__init__.py").open("a", encoding="utf-8") as module:
            module.write("# an edit\n")
        # The builder stage holds the dependency layer; the runtime stage only copies it.
        log = build(context, f"{IMAGE}-edit", base, "--target", "builder")
        cached = steps_from_cache(log)
    podman("rmi", f"{IMAGE}-edit", check=False)
    [dependencies] = [step for step in cached if DEPENDENCY_STEP in step]
    assert cached[dependencies], f"a source edit rebuilt the dependencies: {cached}"
    rebuilt = [step for step, hit in cached.items() if not hit and step.startswith("COPY")]
    assert rebuilt, f"the edit was not rebuilt: {cached}"


@contextmanager
def container(volume: str, port: int) -> Iterator[str]:
    """A detached container of the image on the volume, serving on the host's port."""
    name = podman(
        "run",
        "--detach",
        *RUN_OPTIONS,
        "--env",
        f"SLA_PORT={port}",
        "--env",
        f"SLA_ADMIN_TOKEN={TOKEN}",
        "--volume",
        f"{volume}:/data",
        IMAGE,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", name)
        yield name
    finally:
        podman("rm", "--force", "--time", "0", name, check=False)


def wait_ready(base: str, name: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    logs = podman("logs", name, check=False)
    raise AssertionError(f"the container was not ready within {seconds} s:\n{logs}")


def client(port: int) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )


def check_user_and_health(name: str) -> None:
    uid = podman("exec", name, "id", "-u")
    assert uid.isdigit(), uid
    assert uid != "0", "the server runs as root"
    podman("healthcheck", "run", name)  # exit 0 only when the HEALTHCHECK command passes
    config = podman("inspect", "--format", "{{json .Config.Healthcheck}}", name)
    assert "/healthz" in config, config


def check_persistence(volume: str, port: int) -> None:
    tickets = [f"P-{n}" for n in range(20)]
    with container(volume, port) as name:
        check_user_and_health(name)
        with client(port) as http:
            assert http.put("/v1/calendars/cal", json=DUBLIN).status_code == 201
            assert http.put("/v1/policies/plan", json=standard_policy("cal")).status_code == 201
            for ticket in tickets:
                posted = http.post(f"/v1/tickets/{ticket}/events", json=opened("o", "plan"))
                assert posted.status_code == 201, posted.text
        podman("stop", "--time", "30", name)
    with container(volume, port), client(port) as http:
        missing = [t for t in tickets if http.get(f"/v1/tickets/{t}/events").status_code != 200]
    assert missing == [], f"lost with the container: {missing}"


def post_until_stopped(port: int, worker: int, acknowledged: list[str]) -> None:
    with client(port) as http:
        for n in range(1_000_000):
            ticket = f"L-{worker}-{n}"
            try:
                response = http.post(f"/v1/tickets/{ticket}/events", json=opened("o", "plan"))
            except httpx.TransportError:
                return
            if response.status_code == 201:
                acknowledged.append(ticket)


def stop_under_load(volume: str, port: int) -> tuple[list[str], str]:
    """Posts from 8 clients, stops the container with SIGTERM; the acknowledged tickets."""
    acknowledged: list[str] = []
    with container(volume, port) as name:
        workers = [
            threading.Thread(target=post_until_stopped, args=(port, w, acknowledged))
            for w in range(8)
        ]
        for worker in workers:
            worker.start()
        time.sleep(3)
        podman("stop", "--time", "30", name)
        for worker in workers:
            worker.join(timeout=30)
        exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", name)
    return acknowledged, exit_code


def check_sigterm_under_load(volume: str, port: int) -> int:
    acknowledged, exit_code = stop_under_load(volume, port)
    assert len(acknowledged) > 50, f"too little load: {len(acknowledged)} events"
    # 137 would mean podman had to SIGKILL it: SIGTERM did not stop the server.
    assert exit_code == "0", f"the server exited with {exit_code} after SIGTERM"
    with container(volume, port), client(port) as http:
        missing = [
            t for t in acknowledged if http.get(f"/v1/tickets/{t}/events").status_code != 200
        ]
    assert missing == [], f"{len(missing)} acknowledged events lost: {missing[:10]}"
    return len(acknowledged)


def timed(label: str, started: float) -> float:
    now = time.monotonic()
    print(f"image-test: {label} in {now - started:.1f} s", flush=True)
    return now


def main() -> int:
    started = time.monotonic()
    apt_install(["podman", "debootstrap", "runc"], ["podman", "debootstrap", "runc"])
    base = ensure_base_image()
    step = timed(f"base image {base} ready", started)
    build(ROOT, IMAGE, base)
    step = timed(f"{IMAGE} built", step)
    check_source_edit_keeps_dependency_layer(base)
    step = timed("a source edit rebuilt only the source layers", step)
    volume = podman("volume", "create")
    try:
        check_persistence(volume, free_port())
        step = timed("non-root, healthy, events persist across containers", step)
        count = check_sigterm_under_load(volume, free_port())
        step = timed(f"SIGTERM under load: all {count} acknowledged events kept", step)
    finally:
        podman("volume", "rm", "--force", volume, check=False)
    timed("all checks passed", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
