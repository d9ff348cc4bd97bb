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
from polymarket_pipeline.db import wallets as wallet_store
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
def simulator_settings(base_url: str, **overrides: Any) -> ClientSettings:
    """Client settings pointing at the simulator at ``base_url`` (defaults otherwise: the
    production cold limits); a child process gets the URL on its command line."""
    values: dict[str, Any] = {
        "data_api_url": f"{base_url}/data",
        "clob_api_url": f"{base_url}/clob",
        "gamma_api_url": f"{base_url}/gamma",
    }
    values.update(overrides)
    return ClientSettings(**values)


def client_settings(sim: SimulatorProcess, **overrides: Any) -> ClientSettings:
    """Client settings pointing at ``sim``."""
    return simulator_settings(sim.base_url, **overrides)


def register_all(url: str, wallets: Sequence[str]) -> None:
    """Register ``wallets`` (cold, active) in the application database at ``url``."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            wallet_store.register_wallets(connection, wallets)
    finally:
        engine.dispose()


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


# ----------------------------------------------------------------------------- arrivals and sizes
def max_in_window(times: Sequence[float], window: float) -> int:
    """The most arrivals inside any half-open interval ``[t, t + window)``."""
    return busiest_window(times, window)[0]


def busiest_window(times: Sequence[float], window: float) -> tuple[int, float]:
    """(the most arrivals in any ``[t, t + window)``, the first arrival of that interval); two pointers."""
    ordered = sorted(times)
    best, start, lo = 0, float("nan"), 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - window:
            lo += 1
        if hi - lo + 1 > best:
            best, start = hi - lo + 1, ordered[lo]
    return best, start


class RequestCollector(threading.Thread):
    """Drains the simulator's request log every ``interval`` seconds into an unbounded list.

    The simulator keeps only its last 100,000 requests; a 100,000-wallet sweep sends several
    times that, so long runs read the log incrementally (``since`` the newest arrival seen,
    de-duplicating the records that share that instant).
    """

    def __init__(self, sim: SimulatorProcess, interval: float = 2.0) -> None:
        super().__init__(name="request-collector", daemon=True)
        self.sim = sim
        self.interval = interval
        self.records: list[RequestRecord] = []
        self._seen_at_edge: set[tuple[Any, ...]] = set()
        self._newest = 0.0
        self._halt = threading.Event()
        self._lock = threading.Lock()

    @staticmethod
    def _identity(r: RequestRecord) -> tuple[Any, ...]:
        return (r.at, r.path, tuple(sorted(r.query.items())), r.wallet)

    def drain(self) -> None:
        with self._lock:
            fresh = self.sim.admin.requests(since=self._newest or None)
            for r in fresh:
                if r.api == "_sim":
                    continue  # its own admin calls
                key = self._identity(r)
                if r.at <= self._newest and key in self._seen_at_edge:
                    continue
                self.records.append(r)
                if r.at > self._newest:
                    self._newest = r.at
                    self._seen_at_edge = set()
                if r.at == self._newest:
                    self._seen_at_edge.add(key)

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                self.drain()
            except Exception as exc:  # keep collecting; the final drain reports a real failure
                print(f"request collector: {exc!r}", file=sys.stderr)

    def stop(self) -> list[RequestRecord]:
        """Stop, drain what is left, and return every record collected."""
        self._halt.set()
        self.join(30)
        time.sleep(0.2)  # let the last responses complete their log records
        self.drain()
        return self.records


def pg_database_bytes(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())
    finally:
        engine.dispose()


def sqlite_bytes(url: str) -> int:
    path = Path(sa.engine.make_url(url).database or "")
    return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())


def database_bytes(url: str) -> int:
    return pg_database_bytes(url) if url.startswith("postgresql") else sqlite_bytes(url)


def pg_backend_pids(url: str) -> list[int]:
    """Server processes serving connections to ``url``'s database (for CPU accounting)."""
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = %(name)s AND pid <> pg_backend_pid()",
                {"name": name},
            )
            return [int(pid) for (pid,) in rows]
    finally:
        admin.dispose()


class CpuMeter:
    """CPU seconds (user + system) spent by groups of processes during a measurement.

    ``sample`` is called repeatedly while they run. A process started for the measurement is
    counted from zero (``from_zero``); one that was already running (the simulator, a pooled
    PostgreSQL backend) from its first sample. A process that exits keeps its last sample.
    """

    def __init__(self) -> None:
        self._first: dict[tuple[str, int], float] = {}
        self._last: dict[tuple[str, int], float] = {}
        self._procs: dict[int, psutil.Process] = {}

    def sample(self, group: str, pids: Sequence[int], *, from_zero: bool = False) -> None:
        for pid in pids:
            try:
                proc = self._procs.get(pid) or psutil.Process(pid)
                self._procs[pid] = proc
                t = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            used = t.user + t.system
            self._first.setdefault((group, pid), 0.0 if from_zero else used)
            self._last[(group, pid)] = used

    def seconds(self, group: str) -> float:
        return sum(v - self._first[k] for k, v in self._last.items() if k[0] == group)
