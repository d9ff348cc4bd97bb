"""Helpers shared by the benchmark scripts in ``bench/`` (this module is not a benchmark).

Throwaway databases (SQLite files in a temp dir, PostgreSQL databases created and dropped on
the local server), a simulator in its own process, child processes whose peak RSS is measured,
request-log arithmetic and plain-text tables.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

from polymarket_pipeline.api.settings import ClientSettings
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.simulator.requestlog import RequestRecord
from polymarket_pipeline.simulator.server import SimulatorProcess

PG_ADMIN_URL = os.environ.get(
    "POLYMARKET_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RESULT_PREFIX = "BENCH_RESULT "
"""A child process prints its result as one JSON line starting with this."""


# ----------------------------------------------------------------------------- databases
def create_pg_database(admin_url: str = PG_ADMIN_URL) -> tuple[str, str]:
    """A fresh empty database on the local server: (name, url)."""
    name = f"pmbench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return name, sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(name: str, admin_url: str = PG_ADMIN_URL) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def app_database(kind: str, tmpdir: Path, *, migrate: bool = True) -> Iterator[str]:
    """An empty application database URL (``sqlite`` file in ``tmpdir`` or ``postgres``), removed after."""
    if kind == "sqlite":
        path = tmpdir / f"app-{uuid.uuid4().hex[:8]}.sqlite"
        url = f"sqlite:///{path}"
        if migrate:
            migrate_url(url)
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    name, url = create_pg_database()
    try:
        if migrate:
            migrate_url(url)
        yield url
    finally:
        drop_pg_database(name)


def migrate_url(url: str) -> None:
    engine = create_db_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- simulator
def client_settings(sim: SimulatorProcess, **overrides: Any) -> ClientSettings:
    """Client settings pointing at ``sim`` (defaults otherwise: the production cold limits)."""
    values: dict[str, Any] = {
        "data_api_url": sim.data_api_url,
        "clob_api_url": sim.clob_api_url,
        "gamma_api_url": sim.gamma_api_url,
    }
    values.update(overrides)
    return ClientSettings(**values)


@dataclass(frozen=True)
class RateReport:
    requests: int
    span_seconds: float
    rate: float
    """requests / (last arrival - first arrival)."""
    steady_rate: float
    """The same after the first ``burst`` arrivals (the bucket's initial burst excluded)."""
    status_429: int


def rate_of(records: Sequence[RequestRecord], burst: int) -> RateReport:
    times = sorted(r.at for r in records)
    n = len(times)
    span = times[-1] - times[0] if n >= 2 else 0.0
    rate = n / span if span > 0 else float("nan")
    steady = float("nan")
    if n > burst + 1:
        steady_span = times[-1] - times[burst]
        steady = (n - burst - 1) / steady_span if steady_span > 0 else float("nan")
    return RateReport(n, span, rate, steady, sum(1 for r in records if r.status == 429))


# ----------------------------------------------------------------------------- processes
def peak_rss_self_mb() -> float:
    """Peak RSS of this process so far, MB: ``VmHWM`` from /proc/self/status.

    Not ``ru_maxrss``: on Linux that carries the parent's RSS over fork+exec, so a child spawned
    by a 300 MB parent reports >= 300 MB; VmHWM belongs to the new address space only.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit_result(result: dict[str, Any]) -> None:
    """Print a child's result for :func:`run_child` (one JSON line)."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


@dataclass
class ChildOutcome:
    result: dict[str, Any]
    sampled_peak_rss_mb: float
    """Largest RSS seen by polling the child every ``sample_seconds`` (a cross-check)."""
    wall_seconds: float


def run_child(argv: Sequence[str], *, timeout: float, sample_seconds: float = 0.1) -> ChildOutcome:
    """Run ``argv`` (a Python child), sample its RSS, and return its :func:`emit_result` payload."""
    started = time.monotonic()
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    stdout = proc.stdout
    assert stdout is not None

    def pump() -> None:
        for line in stdout:
            lines.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    peak = 0
    try:
        ps = psutil.Process(proc.pid)
        deadline = started + timeout
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"child did not finish within {timeout:.0f}s: {' '.join(argv)}")
            try:
                peak = max(peak, ps.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(sample_seconds)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        reader.join(10)
    if proc.returncode != 0:
        raise RuntimeError(f"child exited with {proc.returncode}: {' '.join(argv)}")
    payload = next((ln[len(RESULT_PREFIX) :] for ln in reversed(lines) if ln.startswith(RESULT_PREFIX)), None)
    if payload is None:
        raise RuntimeError("child printed no result line")
    return ChildOutcome(json.loads(payload), peak / 2**20, time.monotonic() - started)


# ----------------------------------------------------------------------------- numbers and tables
def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100); NaN when empty."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(p) - 1))])


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> str:
    """A plain-text table (right-aligned numbers, left-aligned text)."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values: Sequence[str], raw: Sequence[object] | None = None) -> str:
        out = []
        for i, v in enumerate(values):
            numeric = raw is not None and isinstance(raw[i], int | float) and not isinstance(raw[i], bool)
            out.append(v.rjust(widths[i]) if numeric else v.ljust(widths[i]))
        return "  ".join(out).rstrip()

    parts = [title] if title else []
    parts.append(line(list(headers)))
    parts.append("  ".join("-" * w for w in widths))
    parts += [line(c, r) for c, r in zip(cells, rows, strict=True)]
    return "\n".join(parts)


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def load_note() -> str:
    """The machine's load average (others may be running things on the same 2 cores)."""
    one, five, fifteen = os.getloadavg()
    loads = f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
    return f"load average at the end (1/5/15 min): {loads} on {os.cpu_count()} CPUs"


def version_note() -> str:
    """Which package code was measured: the commit, and whether the package differs from it."""
    repo = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "log", "-1", "--format=%h %ci"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "polymarket_pipeline"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "package version: unknown (git unavailable)"
    state = f"{len(dirty.splitlines())} uncommitted change(s) in polymarket_pipeline/" if dirty else "clean"
    return f"package measured at commit {commit} ({state})"
