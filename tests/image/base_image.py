"""A local Debian bookworm base with Python 3.11, for building the image with no registry.

The Dockerfile's PYTHON_IMAGE build argument takes any base with `python` 3.11, venv,
groupadd and useradd; this one is made with debootstrap from Debian's mirror and
imported into podman. The root file system is kept as a tar file in the cache, and the
imported image in the cache's podman storage, so only the first run pays for either.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.image.podman import CACHE, GLOBAL

BASE_IMAGE = "localhost/slaclock-base:bookworm"
MIRROR = os.environ.get("IMAGE_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# python3-distutils provides the virtual python3.11-distutils that venv needs and
# debootstrap does not resolve; python-is-python3 gives the `python` the Dockerfile
# calls, as the official images do.
PACKAGES = "python3.11,python3.11-venv,python3-distutils,python-is-python3,ca-certificates"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ROOTFS_TAR = CACHE / "bookworm-python3.11-rootfs.tar"
# An imported tar file has no configuration: give it the PATH and CMD a base has.
IMAGE_CONFIG = [
    "--change",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "--change",
    'CMD ["python"]',
    # pip trusts its own certificate bundle unless told to use the system's.
    "--change",
    f"ENV PIP_CERT={HOST_CA_BUNDLE}",
]
DEBOOTSTRAP = ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm"]


def ensure_base_image() -> str:
    if _exists():
        return BASE_IMAGE
    if not ROOTFS_TAR.exists():
        _bootstrap()
    with ROOTFS_TAR.open("rb") as tar:
        subprocess.run(
            ["podman", *GLOBAL, "import", *IMAGE_CONFIG, "-", BASE_IMAGE],
            stdin=tar,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return BASE_IMAGE


def _exists() -> bool:
    return (
        subprocess.run(["podman", *GLOBAL, "image", "exists", BASE_IMAGE], check=False)
    ).returncode == 0


def _bootstrap() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        rootfs = Path(work) / "rootfs"
        try:
            subprocess.run(
                [*DEBOOTSTRAP, str(rootfs), MIRROR],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        finally:
            # A failed debootstrap leaves the host's /proc and /sys mounted in the
            # target: unmount them before the temporary directory is deleted.
            for mount in ("proc", "sys"):
                subprocess.run(
                    ["umount", "--recursive", str(rootfs / mount)],
                    check=False,
                    stderr=subprocess.DEVNULL,
                )
        # The host's trust store: where HTTPS to PyPI passes an inspecting proxy, the
        # image build must trust that proxy's certificate as the host does.
        shutil.copy2(HOST_CA_BUNDLE, rootfs / HOST_CA_BUNDLE.relative_to("/"))
        # Package caches and lists only make every layer built on the base larger.
        subprocess.run(
            ["sh", "-c", f"rm -rf {rootfs}/var/cache/apt/* {rootfs}/var/lib/apt/lists/*"],
            check=True,
        )
        partial = ROOTFS_TAR.with_suffix(".partial")
        subprocess.run(
            ["tar", "--one-file-system", "-C", str(rootfs), "-cf", str(partial), "."], check=True
        )
        partial.rename(ROOTFS_TAR)
