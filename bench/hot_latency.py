"""Hot-path idle cost and latency under the real daemon: injected fill -> row in ``trades_public``.

For each ``--hot`` count (default 200 and 5,000), all in a temp dir: the simulator in its own
process (``SimulatorProcess``), a SQLite application database (``polymarket-pipeline db
upgrade``), that many simulator wallets made hot with ``db.wallets.add_follow`` (plus ``--cold``
others), and ``dagster dev -m polymarket_pipeline.definitions`` with a temporary DAGSTER_HOME
holding the local instance config (``python -m polymarket_pipeline.instance_config dagster.yaml``,
as ``scripts/dev.sh`` does) and the POLYMARKET_* variables pointing at the simulator. Then:

1. every hot wallet gets its first poll. By default (``--first-polls sweep``) the benchmark does
   them before starting ``dagster dev``, with ``sync.sweep.sweep`` (``PollPlan()``: positions,
   trades and activity, as the sensor's first poll of a new wallet) at a raised rate, because the
   sensor takes new wallets 4 per cycle (~3 per second: 5,000 wallets would take ~30 minutes);
   ``--first-polls sensor`` lets the sensor do them and reports how long that took;
2. injects ``--trades`` fills for random hot wallets (taker; one non-hot maker) through the
   simulator admin API at random intervals over ~``--inject-seconds``, while a thread polls the
   app DB every ``--poll-interval`` for each fill's row (matched on ``transaction_hash`` and the
   taker's address); latency = first seen in the DB - time the admin call was sent;
3. a quiet period (``--quiet-seconds``, no injections): the Data API requests in the simulator's
   request log per second, split into the feed (``/v2/trades`` without ``user``) and per-wallet
   requests, per cycle (one feed read per cycle) and per sensor tick (ticks from Dagster's ``job_ticks``).

Targets: idle cost <= 1.5 Data API requests/s at every hot count; latency p50 <= 1 s and p95 <= 2 s
(the brief sets them at 5,000 hot wallets; they are checked at every count).

``--window``, ``--cycle``, ``--verify-rate``, ``--report-seconds`` override the resource defaults
(``hot_window_seconds``, ``hot_cycle_seconds``, ``hot_verify_rate``, ``hot_report_seconds``) through
``bench/hot_defs.py`` (the package's definitions with those fields replaced) to show what a changed
default would do; without them the package's own code location is loaded.

``dagster dev`` runs in its own session and is killed as a process group (plus any stray
descendants) at the end, also on Ctrl-C or SIGTERM. ``--profile`` records the code server (where
the sensor runs) with py-spy during the injections (py-spy must be installed in the venv).

    /work/venvs/bench/bin/python bench/hot_latency.py [--hot 200 5000] [--trades 60] [--window 4.5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import psutil
from benchlib import client_settings, load_note, percentile, table, verdict, version_note

from polymarket_pipeline.api import PolymarketClient
from polymarket_pipeline.db import wallets as wallet_store
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.defs.resources import PolymarketApiResource
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.requestlog import RequestRecord
from polymarket_pipeline.simulator.server import SimulatorAdmin, SimulatorProcess
from polymarket_pipeline.sync.sweep import SweepOptions, sweep
from polymarket_pipeline.sync.wallet_poll import PollPlan

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_P50 = 1.0
TARGET_P95 = 2.0
TARGET_IDLE = 1.5
"""Data API requests per second while nothing happens."""
OVERRIDES = {
    "window": "hot_window_seconds",
    "cycle": "hot_cycle_seconds",
    "verify_rate": "hot_verify_rate",
    "report_seconds": "hot_report_seconds",
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hot", type=int, nargs="+", default=[200, 5000], help="hot (followed) wallets, per run")
    p.add_argument("--cold", type=int, default=200, help="extra simulator wallets that are not followed")
    p.add_argument("--trades", type=int, default=60, help="fills injected")
    p.add_argument("--inject-seconds", type=float, default=150.0, help="spread injections over ~this long")
    p.add_argument("--quiet-seconds", type=float, default=30.0)
    p.add_argument("--poll-interval", type=float, default=0.05, help="app DB poll interval, s")
    p.add_argument("--latency-ms", type=float, default=50.0, help="simulator latency on every request")
    p.add_argument("--live-tps", type=float, default=0.0, help="background trades/s by random wallets")
    p.add_argument("--first-poll-timeout", type=float, default=600.0)
    p.add_argument("--settle-seconds", type=float, default=30.0, help="wait for the last fills this long")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--first-polls", choices=["sweep", "sensor"], default="sweep")
    p.add_argument("--sweep-rate", type=float, default=1000.0, help="req/s of the first-poll sweep")
    p.add_argument("--window", type=float, help="override hot_window_seconds")
    p.add_argument("--cycle", type=float, help="override hot_cycle_seconds")
    p.add_argument("--verify-rate", type=float, help="override hot_verify_rate")
    p.add_argument("--report-seconds", type=float, help="override hot_report_seconds")
    p.add_argument("--profile", action="store_true", help="py-spy the code server during the injections")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    return p.parse_args()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dagster:
    """``dagster dev`` in its own session; :meth:`stop` kills the whole process group."""

    def __init__(self, env: dict[str, str], cwd: Path, log_path: Path, location: list[str]) -> None:
        self.log_path = log_path
        self.port = free_port()
        self._log = log_path.open("wb")
        argv = [str(BIN / "dagster"), "dev", *location]
        argv += ["-h", "127.0.0.1", "-p", str(self.port)]
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started = time.time()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        try:
            family = [self.proc.pid, *(c.pid for c in psutil.Process(self.proc.pid).children(recursive=True))]
        except psutil.NoSuchProcess:
            family = [self.proc.pid]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        deadline = time.monotonic() + 10
        for pid in family:  # descendants that left the group (none expected)
            with contextlib.suppress(psutil.NoSuchProcess):
                p = psutil.Process(pid)
                p.wait(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
                psutil.Process(pid).kill()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


class Watcher(threading.Thread):
    """Polls the app DB for injected fills; records when each first appears."""

    def __init__(self, db_path: Path, interval: float) -> None:
        super().__init__(name="db-watcher", daemon=True)
        self.db_path = db_path
        self.interval = interval
        self.pending: dict[str, tuple[str, float]] = {}
        """transaction_hash -> (taker, injected at)."""
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.queries = 0

    def add(self, tx: str, taker: str, at: float) -> None:
        with self.lock:
            self.pending[tx] = (taker, at)

    def outstanding(self) -> int:
        with self.lock:
            return len(self.pending)

    def run(self) -> None:
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5, isolation_level=None)
        try:
            while not self.halt.wait(self.interval):
                with self.lock:
                    wanted = dict(self.pending)
                if not wanted:
                    continue
                marks = ",".join("?" * len(wanted))
                try:
                    rows = db.execute(
                        f"SELECT transaction_hash, wallet_address FROM trades_public "
                        f"WHERE transaction_hash IN ({marks})",
                        list(wanted),
                    ).fetchall()
                except sqlite3.OperationalError:
                    continue
                now = time.time()
                self.queries += 1
                with self.lock:
                    for tx, wallet in rows:
                        entry = self.pending.get(tx)
                        if entry is not None and entry[0] == wallet:
                            self.seen[tx] = now - entry[1]
                            del self.pending[tx]
        finally:
            db.close()


def polled_count(db_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)) as db:
        try:
            row = db.execute(
                "SELECT count(*) FROM wallet_poll_state WHERE last_polled_at IS NOT NULL"
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(row[0])


@dataclass(frozen=True)
class Tick:
    start: float
    end: float
    status: str
    skip_reason: str


def sensor_ticks(dagster_home: Path) -> list[Tick]:
    """The hot sensor's ticks, read from Dagster's own storage (``job_ticks``)."""
    ticks: list[Tick] = []
    for path in dagster_home.rglob("*.db"):
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
                rows = db.execute("SELECT tick_body FROM job_ticks").fetchall()
        except sqlite3.Error:
            continue
        for (raw,) in rows:
            body = json.loads(raw)
            if body.get("job_name") != "hot_wallets_sensor":
                continue
            status = str((body.get("status") or {}).get("__enum__", "")).removeprefix("TickStatus.")
            end = body.get("end_timestamp") or float("nan")
            ticks.append(
                Tick(float(body["timestamp"]), float(end), status, str(body.get("skip_reason") or ""))
            )
    return sorted(ticks, key=lambda t: t.start)


def classify(records: list[RequestRecord]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for r in records:
        if r.api == "data" and r.route == "/v2/trades" and r.wallet is None:
            kinds["feed (/v2/trades, no user)"] += 1
        elif r.wallet is not None:
            kinds[f"per-wallet {r.route}"] += 1
        else:
            kinds[f"other {r.api} {r.route}"] += 1
    return kinds


def inject_one(
    admin: SimulatorAdmin, rng: random.Random, hot: list[str], cold: list[str], markets: list[dict[str, Any]]
) -> tuple[str, str, float]:
    market = rng.choice(markets)
    idx = rng.randrange(2)
    price = round(min(0.95, max(0.05, float(market["last_prices"][idx]))), 2)
    taker = rng.choice(hot)
    makers = [rng.choice(cold)] if cold else None
    sent = time.time()
    fills = admin.inject_trade(
        taker, market["token_ids"][idx], "BUY", rng.randint(1, 50), price, makers=makers
    )
    tx = next(f["transaction_hash"] for f in fills if f["wallet"] == taker)
    return tx, taker, sent


def overrides(args: argparse.Namespace) -> dict[str, float]:
    return {field_: getattr(args, arg) for arg, field_ in OVERRIDES.items() if getattr(args, arg) is not None}


def first_poll_sweep(url: str, sim: SimulatorProcess, wallets: list[str], rate: float) -> tuple[float, int]:
    """Every hot wallet's first poll (positions, trades, activity), as the sensor's would be."""
    settings = client_settings(
        sim,
        rate_limit=rate,
        burst=int(rate // 10) or 1,
        wallet_cooldown_seconds=0.0,
    )
    engine = create_db_engine(url)

    async def main() -> int:
        async with PolymarketClient(settings) as client:
            stats = await sweep(client, engine, wallets, options=SweepOptions(plan=PollPlan()))
            return stats.wallets_failed

    started = time.monotonic()
    try:
        failed = asyncio.run(main())
    finally:
        engine.dispose()
    return time.monotonic() - started, failed


def code_server_pid(dagster: Dagster) -> int | None:
    """The ``dagster api grpc`` process ``dagster dev`` started (the sensor's code runs there)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        for child in psutil.Process(dagster.proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                if "grpc" in " ".join(child.cmdline()):
                    return child.pid
    return None


@dataclass
class RunSummary:
    hot: int
    idle_rate: float
    p50: float
    p95: float
    seen: int
    injected: int
    first_polls: str


def run(args: argparse.Namespace, n_hot: int, tmp: Path, cleanup: list[Any]) -> RunSummary:
    rng = random.Random(args.seed)
    config = SimulatorConfig(
        seed=args.seed,
        n_wallets=n_hot + args.cold,
        n_markets=20,
        trades_per_wallet=5,
        latency_ms=args.latency_ms,
        live_trades_per_second=args.live_tps,
        start_time=int(time.time()) - 3600,  # history ends an hour ago: the feed starts quiet
    )
    sim = SimulatorProcess(config).start()
    cleanup.append(sim.stop)
    admin = sim.admin
    sim_wallets = admin.wallets()
    hot, cold = sim_wallets[:n_hot], sim_wallets[n_hot:]
    markets = [m for m in admin.markets() if not m["closed"]]

    db_path = tmp / "app.sqlite"
    dagster_home = tmp / "dagster_home"
    dagster_home.mkdir()
    (tmp / "tmp").mkdir()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(dagster_home),
        "TMPDIR": str(tmp / "tmp"),
        "POLYMARKET_DATABASE_URL": f"sqlite:///{db_path}",
        "POLYMARKET_DATA_API_URL": sim.data_api_url,
        "POLYMARKET_CLOB_API_URL": sim.clob_api_url,
        "POLYMARKET_GAMMA_API_URL": sim.gamma_api_url,
        "POLYMARKET_DATA_DIR": str(tmp / "data"),
    }
    changed = overrides(args)
    if changed:
        env["BENCH_HOT_OVERRIDES"] = json.dumps(changed)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "bench"), os.environ.get("PYTHONPATH")]))
        location = ["-f", str(REPO / "bench" / "hot_defs.py")]
    else:
        location = ["-m", "polymarket_pipeline.definitions"]
    subprocess.run([str(BIN / "polymarket-pipeline"), "db", "upgrade"], env=env, check=True, timeout=120)
    engine = create_db_engine(env["POLYMARKET_DATABASE_URL"])
    with engine.begin() as connection:
        for i, wallet in enumerate(hot):
            wallet_store.add_follow(connection, f"bench-user-{i % 50}", wallet)
    engine.dispose()
    sweep_note = ""
    if args.first_polls == "sweep":
        print(
            f"[{n_hot} hot] first polls of every hot wallet (sweep at {args.sweep_rate:g} req/s) ...",
            flush=True,
        )
        seconds, failed = first_poll_sweep(env["POLYMARKET_DATABASE_URL"], sim, hot, args.sweep_rate)
        sweep_note = f"first polls by a sweep before `dagster dev` started: {seconds:.0f} s, {failed} failed"
        print(f"  {sweep_note}", flush=True)
    instance_yaml = subprocess.run(
        [sys.executable, "-m", "polymarket_pipeline.instance_config", str(REPO / "dagster.yaml")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    (dagster_home / "dagster.yaml").write_text(instance_yaml)

    admin.clear_requests()
    print(
        f"[{n_hot} hot] starting dagster dev {' '.join(location)} (DAGSTER_HOME={dagster_home}) ...",
        flush=True,
    )
    dagster = Dagster(env, tmp, tmp / "dagster.log", location)
    cleanup.append(dagster.stop)

    # 1. every hot wallet polled once (by the sweep above, or by the sensor), and the sensor ticking
    deadline = time.monotonic() + args.first_poll_timeout
    polled = 0
    while polled < len(hot) or not any(r.api == "data" for r in admin.requests()):
        if not dagster.alive():
            raise RuntimeError(f"dagster dev exited:\n{dagster.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"only {polled}/{len(hot)} hot wallets polled after {args.first_poll_timeout}s"
            )
        time.sleep(0.5)
        polled = polled_count(db_path)
    all_polled = time.time()
    startup_records = admin.requests()
    first_request = min((r.at for r in startup_records), default=float("nan"))
    since_start = all_polled - dagster.started
    print(f"  all {len(hot)} hot wallets polled, sensor running {since_start:.1f}s after start", flush=True)
    time.sleep(10.0)  # a couple of ticks: the sensor's registry and cursor settle

    # 2. injections
    watcher = Watcher(db_path, args.poll_interval)
    watcher.start()
    cleanup.append(watcher.halt.set)
    profiler = None
    if args.profile:
        pid = code_server_pid(dagster)
        if pid is not None:
            out = tmp.parent / f"hot_latency_profile_{n_hot}.txt"
            profiler = subprocess.Popen(
                [str(BIN / "py-spy"), "record", "-p", str(pid), "-d", str(int(args.inject_seconds)),
                 "-r", "100", "-f", "raw", "-o", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            print(f"  profiling the code server (pid {pid}) into {out}", flush=True)
    mean_gap = args.inject_seconds / max(1, args.trades)
    inject_started = time.time()
    for _ in range(args.trades):
        tx, taker, sent = inject_one(admin, rng, hot, cold, markets)
        watcher.add(tx, taker, sent)
        time.sleep(rng.uniform(0.2 * mean_gap, 1.8 * mean_gap))
    inject_ended = time.time()
    settle_deadline = time.monotonic() + args.settle_seconds
    while watcher.outstanding() and time.monotonic() < settle_deadline:
        time.sleep(0.1)
    watcher.halt.set()
    watcher.join(5)
    if profiler is not None:
        profiler.wait(60)
    latencies = sorted(watcher.seen.values())
    missing = args.trades - len(latencies)

    # 3. quiet period
    time.sleep(6.0)  # let the polls the last fills triggered finish
    quiet_start = time.time()
    time.sleep(args.quiet_seconds)
    quiet_end = time.time()
    records = [r for r in admin.requests(since=quiet_start) if r.at < quiet_end]
    kinds = classify(records)
    feed_times = sorted(
        r.at for r in records if r.route == "/v2/trades" and r.wallet is None and "cursor" not in r.query
    )
    cycles = len(feed_times)
    all_ticks = sensor_ticks(dagster_home)
    quiet_ticks = [t for t in all_ticks if quiet_start <= t.start < quiet_end]
    ticks = len(quiet_ticks) if cycles else 0
    skip = re.compile(r"(\d+) cycles, (\d+) requests")
    reported = [(int(m[1]), int(m[2])) for t in quiet_ticks if (m := skip.search(t.skip_reason))]
    run_ticks = [t for t in all_ticks if t.start >= all_polled]
    intervals = [b.start - a.start for a, b in itertools.pairwise(run_ticks)]
    durations = [t.end - t.start for t in run_ticks if t.end == t.end]
    errors = sum(1 for ln in dagster.log_path.read_text(errors="replace").splitlines() if "Traceback" in ln)
    span = quiet_end - quiet_start
    data_requests = sum(1 for r in records if r.api == "data")
    idle_rate = data_requests / span

    # report
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    settings = {**{f: getattr(PolymarketApiResource(), f) for f in OVERRIDES.values()}, **changed}
    print()
    print(
        table(
            ["metric", "value", "target", "verdict"],
            [
                ["hot wallets", len(hot), "", ""],
                ["dagster dev start -> first API request, s", first_request - dagster.started, "", ""],
                ["dagster dev start -> all hot wallets polled once, s",
                 all_polled - dagster.started if args.first_polls == "sensor" else "(by the sweep)", "", ""],
                ["fills injected", args.trades, "", ""],
                ["injection window, s", inject_ended - inject_started, "", ""],
                ["fills seen in trades_public", len(latencies), args.trades, verdict(missing == 0)],
                ["latency p50, s", p50, f"<= {TARGET_P50:g}", verdict(p50 <= TARGET_P50)],
                ["latency p95, s", p95, f"<= {TARGET_P95:g}", verdict(p95 <= TARGET_P95)],
                ["latency max, s", latencies[-1] if latencies else float("nan"), "", ""],
                ["latency min, s", latencies[0] if latencies else float("nan"), "", ""],
                ["idle Data API requests/s", idle_rate, f"<= {TARGET_IDLE:g}",
                 verdict(idle_rate <= TARGET_IDLE)],
            ],
            title=(
                f"Hot path under `dagster dev`: {len(hot):,} hot wallets, simulator latency "
                f"{args.latency_ms:g} ms, DB polled every {args.poll_interval * 1000:.0f} ms; "
                + ", ".join(f"{k}={v:g}{' (override)' if k in changed else ''}" for k, v in settings.items())
            ),
        )
    )  # fmt: skip
    print()
    rows: list[list[object]] = [
        [kind, n, n / span, n / cycles if cycles else float("nan"), n / ticks if ticks else float("nan")]
        for kind, n in sorted(kinds.items())
    ]
    total = sum(kinds.values())
    rows.append(
        ["total", total, total / span, total / cycles if cycles else 0.0, total / ticks if ticks else 0.0]
    )
    print(
        table(
            ["requests (quiet period)", "count", "per s", "per cycle", "per tick"],
            rows,
            title=f"Idle traffic over {span:.1f} s: {cycles} cycles in {ticks} sensor ticks "
            f"({cycles / ticks if ticks else 0:.2f} cycles/tick)",
        )
    )
    if sweep_note:
        print(sweep_note)
    if reported:
        print(
            f"the sensor's own skip reasons for the {len(quiet_ticks)} ticks that started in that window "
            f"({len(reported)} SKIPPED): {sum(c for c, _ in reported) / len(reported):.2f} cycles and "
            f"{sum(r for _, r in reported) / len(reported):.2f} requests per tick"
        )
    if intervals:
        statuses = Counter(t.status for t in run_ticks)
        print(
            f"sensor ticks after the first polls: {len(run_ticks)} ({dict(statuses)}); interval "
            f"between tick starts p50 {percentile(intervals, 50):.2f} s, "
            f"p95 {percentile(intervals, 95):.2f} s, "
            f"max {max(intervals):.2f} s; tick duration p50 {percentile(durations, 50):.2f} s, "
            f"max {max(durations, default=float('nan')):.2f} s"
        )
    window, cycle = settings["hot_window_seconds"], settings["hot_cycle_seconds"]
    per_tick = math.ceil(window / cycle)
    period = max((intervals and percentile(intervals, 50)) or 5.0, window)
    print(
        f"expected idle cost: {per_tick} feed reads per {period:.2f} s tick + the trickle's "
        f"{settings['hot_verify_rate']:g} wallets/s x {cycle:g} s per cycle ({per_tick} cycles) = "
        f"{per_tick / period + settings['hot_verify_rate'] * cycle * per_tick / period:.2f} req/s "
        "(positions only while nothing changed and no verification is due)"
    )
    print(f"Tracebacks in the dagster dev log: {errors}; DB watcher queries: {watcher.queries}")
    print(load_note())
    print(version_note())
    if latencies:
        print("latencies (s): " + " ".join(f"{x:.2f}" for x in latencies))
    return RunSummary(len(hot), idle_rate, p50, p95, len(latencies), args.trades, args.first_polls)


def main() -> None:
    args = parse_args()

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    summaries = []
    changed = overrides(args)
    for n_hot in args.hot:
        tmp = Path(tempfile.mkdtemp(prefix="bench-hot-"))
        cleanup: list[Any] = []
        try:
            summaries.append(run(args, n_hot, tmp, cleanup))
        finally:
            for step in reversed(cleanup):
                try:
                    step()
                except Exception as exc:
                    print(f"cleanup step failed: {exc!r}", file=sys.stderr)
            if args.keep:
                print(f"kept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        print()
    print(
        table(
            ["hot wallets", "idle Data API req/s", f"<= {TARGET_IDLE:g}", "latency p50 s",
             f"<= {TARGET_P50:g}", "latency p95 s", f"<= {TARGET_P95:g}", "fills seen"],
            [
                [s.hot, s.idle_rate, verdict(s.idle_rate <= TARGET_IDLE), s.p50, verdict(s.p50 <= TARGET_P50),
                 s.p95, verdict(s.p95 <= TARGET_P95), f"{s.seen}/{s.injected}"]
                for s in summaries
            ],
            title=f"Summary ({f'overrides: {changed}' if changed else 'package defaults'})",
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
