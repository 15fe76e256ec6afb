"""Podman as `make image-test` runs it: root, vfs storage of its own, host networking.

vfs needs no kernel overlay support and a storage root of our own cannot clash with
another podman set-up on the machine; host networking works where no bridge or
user-mode network can be made (a container inside a container).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

CACHE = Path(os.environ.get("IMAGE_TEST_CACHE", "/var/tmp/slaclock-image-test"))
STORAGE = ["--root", str(CACHE / "storage"), "--runroot", str(CACHE / "run")]
# crun refuses hosts with both cgroup versions mounted (hybrid); runc does not.
GLOBAL = ["--storage-driver", "vfs", *STORAGE, "--cgroup-manager", "cgroupfs", "--runtime", "runc"]
# Podman's default limits for root exceed what a nested host may grant: ask for less.
RUN_OPTIONS = ["--network", "host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]


def podman(*args: str, check: bool = True, quiet: bool = True) -> str:
    """Runs podman with this test's storage; returns its standard output."""
    result = subprocess.run(
        ["podman", *GLOBAL, *args],
        check=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if quiet else None,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def apt_install(commands: Sequence[str], packages: Sequence[str]) -> None:
    """Installs the Debian packages when one of the commands is missing (idempotent)."""
    if all(shutil.which(command) for command in commands):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
