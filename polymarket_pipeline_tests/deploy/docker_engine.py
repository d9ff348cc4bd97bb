"""A Docker engine for the container tests, prepared on this machine when it has none.

The machine reaches Debian's mirrors and PyPI but no image registry, so: ``docker.io`` and
``debootstrap`` are installed with apt-get when missing, ``dockerd`` is started in the background
when no daemon answers (a running one is reused and left running), and the Dockerfile's base image
``python:3.11-slim-bookworm`` is built locally by ``scripts/docker_base_image.sh`` unless the tag
exists. All of it is cached across runs: the packages, the daemon, the base image, and Docker's
layer cache for the image itself. A file lock keeps two test sessions from preparing at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

from polymarket_pipeline_tests.deploy.harness import REPO_ROOT

BASE_IMAGE = "python:3.11-slim-bookworm"
BASE_IMAGE_SCRIPT = REPO_ROOT / "scripts" / "docker_base_image.sh"
DOCKERD_LOG = Path("/var/log/polymarket-dockerd.log")
LOCK_FILE = Path("/tmp/polymarket_pipeline-docker.lock")
APT_PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap"}


class DockerUnavailable(RuntimeError):
    """Docker cannot be prepared here (not root, no apt-get…): a skip outside CI, a failure in it."""


@dataclass
class Preparation:
    """What preparing the engine did and how long each part took (printed by the tests)."""

    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def timed(self, name: str, started: float) -> None:
        self.timings[name] = round(time.monotonic() - started, 1)


@contextlib.contextmanager
def machine_lock() -> Iterator[None]:
    """One preparer at a time (apt, dockerd, the base image, a build of the same tag)."""
    with LOCK_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise DockerUnavailable(f"{' '.join(argv)} exited {result.returncode}:\n{output[-4000:]}")
    return output


def _which(command: str) -> str | None:
    """A command on PATH or in the sbin folders (where apt puts dockerd and debootstrap)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    return shutil.which(command, path=path)


def install_packages(prep: Preparation) -> None:
    """``apt-get install -y`` the engine and debootstrap, if their commands are missing."""
    missing = [package for command, package in APT_PACKAGES.items() if _which(command) is None]
    if not missing:
        return
    if os.geteuid() != 0 or _which("apt-get") is None:
        raise DockerUnavailable(f"{', '.join(missing)} missing and apt-get is unusable here (need root)")
    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    try:
        _run(install, timeout=600, env=env)
    except DockerUnavailable:  # stale package lists: refresh once and retry
        _run(["apt-get", "update"], timeout=600, env=env)
        _run(install, timeout=600, env=env)
    prep.timed("apt-get install " + " ".join(missing), started)


def _client() -> Any:
    client = docker.from_env(timeout=300)
    client.ping()
    return client


_DOCKERD: subprocess.Popen[bytes] | None = None
"""The daemon this session started (kept referenced; it outlives the session on purpose)."""


def ensure_daemon(prep: Preparation) -> Any:
    """A client of a daemon that answers; start ``dockerd`` in the background if none does."""
    global _DOCKERD
    with contextlib.suppress(docker.errors.DockerException):
        return _client()
    dockerd = _which("dockerd")
    if dockerd is None:
        raise DockerUnavailable("no Docker daemon answers and dockerd is not installed")
    if os.geteuid() != 0:
        raise DockerUnavailable("no Docker daemon answers and starting dockerd needs root")
    started = time.monotonic()
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with DOCKERD_LOG.open("ab") as log:
        _DOCKERD = subprocess.Popen(
            [dockerd], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 90
    while True:
        with contextlib.suppress(docker.errors.DockerException):
            client = _client()
            prep.timed("start dockerd", started)
            prep.notes.append(f"started dockerd (pid {_DOCKERD.pid}, log {DOCKERD_LOG})")
            return client
        if _DOCKERD.poll() is not None or time.monotonic() > deadline:
            tail = DOCKERD_LOG.read_text(errors="replace")[-3000:]
            raise DockerUnavailable(f"dockerd did not come up (exit code {_DOCKERD.poll()}):\n{tail}")
        time.sleep(0.5)


def ensure_base_image(client: Any, prep: Preparation) -> None:
    """The Dockerfile's FROM image, built with debootstrap unless the tag already exists."""
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(BASE_IMAGE)
        return
    started = time.monotonic()
    env = {**os.environ, "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])}
    _run(["bash", str(BASE_IMAGE_SCRIPT), BASE_IMAGE], timeout=1200, env=env)
    prep.timed("base image (debootstrap)", started)


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    id: str
    seconds: float
    steps: int
    cached_steps: int
    size: int


def build_image(client: Any, tag: str, prep: Preparation) -> BuiltImage:
    """``docker build`` of the repository (its .dockerignore applies), with the layer cache.

    Host networking for the RUN steps: pip reaches PyPI the way this machine does. The image the
    tag pointed at before is removed when the build replaced it, so reruns do not pile up images.
    """
    previous: str | None = None
    with contextlib.suppress(docker.errors.ImageNotFound):
        previous = client.images.get(tag).id
    started = time.monotonic()
    log: list[str] = []
    steps = cached = 0
    image_id: str | None = None
    for chunk in client.api.build(
        path=str(REPO_ROOT), tag=tag, rm=True, forcerm=True, network_mode="host", decode=True, pull=False
    ):
        if "error" in chunk:
            raise AssertionError(f"docker build failed: {chunk['error']}\n{''.join(log)[-6000:]}")
        text = chunk.get("stream", "")
        log.append(text)
        if text.startswith("Step ") and " : FROM " not in text:  # FROM is never "cached"
            steps += 1
        elif "Using cache" in text:
            cached += 1
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
    seconds = round(time.monotonic() - started, 1)
    image = client.images.get(tag)
    assert image_id is None or image.id == image_id
    if previous and previous != image.id:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(previous, noprune=False)
    prep.timings["image build"] = seconds
    return BuiltImage(tag, image.id, seconds, steps, cached, int(image.attrs["Size"]))


def prepare(tag: str) -> tuple[Any, BuiltImage, Preparation]:
    """Everything the container tests need: engine, base image, the project's image."""
    prep = Preparation()
    with machine_lock():
        install_packages(prep)
        client = ensure_daemon(prep)
        ensure_base_image(client, prep)
        built = build_image(client, tag, prep)
    return client, built, prep
