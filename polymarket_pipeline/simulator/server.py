"""Running the simulator: in a background thread (tests), in the foreground (CLI), or in a subprocess.

Tests want the model in-process (to drive and inspect it directly); benchmarks want the server in
another process so the client and server do not share one GIL. All three share one app factory.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn

from polymarket_pipeline.simulator.admin import SimulatorAdmin, SimulatorAdminError
from polymarket_pipeline.simulator.app import build_context, create_app
from polymarket_pipeline.simulator.context import SimContext
from polymarket_pipeline.simulator.faults import FaultInjector
from polymarket_pipeline.simulator.model import MarketModel, SimulatorConfig
from polymarket_pipeline.simulator.requestlog import RequestLog

__all__ = [
    "SimulatorAdmin",
    "SimulatorAdminError",
    "SimulatorProcess",
    "SimulatorServer",
    "add_config_arguments",
    "config_from_args",
    "config_to_argv",
    "export_lines",
    "serve_forever",
]

ENV_DATA = "POLYMARKET_DATA_API_URL"
ENV_CLOB = "POLYMARKET_CLOB_API_URL"
ENV_GAMMA = "POLYMARKET_GAMMA_API_URL"


def export_lines(base_url: str) -> list[str]:
    """The three shell lines that point the pipeline at a simulator."""
    base = base_url.rstrip("/")
    return [
        f"export {ENV_DATA}={base}/data",
        f"export {ENV_CLOB}={base}/clob",
        f"export {ENV_GAMMA}={base}/gamma",
    ]


def _bind(host: str, port: int) -> socket.socket:
    """Bind first, so port 0 gives a known free port before uvicorn starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _base_url(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _uvicorn_config(ctx: SimContext, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(ctx),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=1,
        backlog=4096,
    )


class _NotifyingServer(uvicorn.Server):
    """A uvicorn server that calls back once it really accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_started is not None:
            self._on_started()


class _Endpoints:
    """The URLs of a running simulator (in a thread or in a subprocess), from its ``base_url``."""

    base_url: str
    _admin: SimulatorAdmin | None

    @property
    def data_api_url(self) -> str:
        return f"{self.base_url}/data"

    @property
    def clob_api_url(self) -> str:
        return f"{self.base_url}/clob"

    @property
    def gamma_api_url(self) -> str:
        return f"{self.base_url}/gamma"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/_sim"

    @property
    def admin(self) -> SimulatorAdmin:
        if self._admin is None:
            self._admin = SimulatorAdmin(self.base_url)
        return self._admin


class SimulatorServer(_Endpoints):
    """The simulator on loopback in a daemon thread with its own event loop (a context manager)."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model: MarketModel | None = None,
        log_level: str = "warning",
    ) -> None:
        self.ctx = build_context(config, model)
        self.host = host
        self.port = port
        self.log_level = log_level
        self.base_url = ""
        self._server: _NotifyingServer | None = None
        self._thread: threading.Thread | None = None
        self._admin: SimulatorAdmin | None = None

    @property
    def config(self) -> SimulatorConfig:
        return self.ctx.config

    @property
    def model(self) -> MarketModel:
        return self.ctx.model

    @property
    def faults(self) -> FaultInjector:
        return self.ctx.faults

    @property
    def log(self) -> RequestLog:
        return self.ctx.log

    def start(self, timeout: float = 15.0) -> SimulatorServer:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self.base_url = _base_url(sock, self.host)
        ready = threading.Event()
        self._server = _NotifyingServer(_uvicorn_config(self.ctx, self.log_level), ready.set)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"simulator:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.02):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
        _wait_for_port(self.host, self.port, deadline)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_for_port(host: str, port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing accepts connections on {host}:{port}") from None
            time.sleep(0.02)


def serve_forever(
    host: str,
    port: int,
    config: SimulatorConfig | None,
    on_ready: Callable[[str], None],
    log_level: str = "warning",
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; ``on_ready(base_url)`` once connections are accepted."""
    ctx = build_context(config)
    sock = _bind(host, port)
    base_url = _base_url(sock, host)
    server = _NotifyingServer(_uvicorn_config(ctx, log_level), lambda: on_ready(base_url))
    server.run(sockets=[sock])


# ---------------------------------------------------------------------- command-line mapping
def _routes(text: str) -> tuple[str, ...]:
    """``/trades,/v2/trades`` -> a tuple of route templates ("" = none)."""
    return tuple(r.strip() for r in text.split(",") if r.strip())


_CLI_FIELDS: list[tuple[str, str, Callable[[str], Any]]] = [
    ("seed", "--seed", int),
    ("n_markets", "--markets", int),
    ("n_wallets", "--wallets", int),
    ("history_days", "--history-days", int),
    ("trades_per_wallet", "--trades-per-wallet", int),
    ("live_trades_per_second", "--live-tps", float),
    ("live_events_per_minute", "--live-events", float),
    ("live_event_wallets", "--live-event-wallets", int),
    ("v1_offset_cap", "--v1-offset-cap", int),
    ("v1_max_page", "--v1-max-page", int),
    ("v1_positions_offset_cap", "--v1-positions-offset-cap", int),
    ("v1_activity_offset_cap", "--v1-activity-offset-cap", int),
    ("v1_trades_repeat_offset", "--v1-trades-repeat-offset", int),
    ("latency_ms", "--latency-ms", float),
    ("start_time", "--start-time", int),
    ("legacy_markets", "--legacy-markets", int),
    ("legacy_winnerless_fraction", "--legacy-winnerless-fraction", float),
    ("winnerless_fraction", "--winnerless-fraction", float),
    ("neg_risk_events", "--neg-risk-events", int),
    ("feed_degraded_fraction", "--feed-degraded-fraction", float),
    ("price_tail_probability", "--price-tail-probability", float),
    ("fee_market_fraction", "--fee-market-fraction", float),
    ("rewards_per_wallet", "--rewards-per-wallet", float),
    ("ctf_ops_per_wallet", "--ctf-ops-per-wallet", float),
    ("many_makers_probability", "--many-makers-probability", float),
    ("edge_cache_seconds", "--edge-cache-seconds", float),
    ("edge_cache_routes", "--edge-cache-routes", _routes),
    ("state_file", "--state-file", str),
]
_HELP = {
    "seed": "seed of the generated data (same seed and start time, same data)",
    "n_markets": "current markets (a neg-risk event among them)",
    "n_wallets": "wallets with a generated history",
    "history_days": "days of generated history before the start time",
    "trades_per_wallet": "taker settlements per wallet in the history",
    "live_trades_per_second": "live settlements per second (~3 rows each)",
    "live_events_per_minute": "live resolutions, redeems, splits, merges, archives, conversions a minute",
    "live_event_wallets": "live events act on the first N wallets only (0 = any)",
    "v1_offset_cap": "v1 /trades: offsets above this are a 400",
    "v1_max_page": "v1 /trades: rows per page at most",
    "v1_positions_offset_cap": "v1 /positions: offsets above this are a 400",
    "v1_activity_offset_cap": "v1 /activity: offsets above this are a 400",
    "v1_trades_repeat_offset": "v1 /trades repeats the page at this offset past it (0 = off)",
    "latency_ms": "delay before every API answer",
    "start_time": "epoch seconds where the history ends (default: now, or the state file's)",
    "legacy_markets": "2022-23 markets (category, no UMA status, mostly no winner flag)",
    "legacy_winnerless_fraction": "share of legacy resolutions without a winner flag",
    "winnerless_fraction": "share of in-window resolutions without a winner flag",
    "neg_risk_events": "multi-outcome events of 3-4 neg-risk markets",
    "feed_degraded_fraction": "share of fills the unscoped feed serves with outcome index 999",
    "price_tail_probability": "share of fills whose price has a float tail",
    "fee_market_fraction": "share of markets charging a taker fee",
    "rewards_per_wallet": "REWARD/rebate rows per wallet in the history",
    "ctf_ops_per_wallet": "SPLIT/MERGE/CONVERSION operations per wallet in the history",
    "many_makers_probability": "share of settlements with 4-17 maker legs",
    "edge_cache_seconds": "how long an identical URL gets its earlier body (Cloudflare; 0 = off)",
    "edge_cache_routes": "comma-separated Data API route templates the edge cache covers",
    "state_file": "journal the live state here and replay it on restart (same positions, no fake closes)",
}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's config as command-line options (shared by ``-m`` and SimulatorProcess)."""
    defaults = SimulatorConfig()
    for name, flag, kind in _CLI_FIELDS:
        parser.add_argument(flag, dest=name, type=kind, default=getattr(defaults, name), help=_HELP.get(name))
    parser.add_argument("--enforce-limits", dest="enforce_limits", action="store_true")


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    values: dict[str, Any] = {name: getattr(args, name) for name, _, _ in _CLI_FIELDS}
    values["enforce_limits"] = bool(args.enforce_limits)
    return SimulatorConfig(**values)


def _argv_value(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def config_to_argv(config: SimulatorConfig) -> list[str]:
    """The inverse of :func:`config_from_args` (fields without a flag keep their defaults)."""
    argv: list[str] = []
    defaults = SimulatorConfig()
    for name, flag, _ in _CLI_FIELDS:
        value = getattr(config, name)
        if value is not None and value != getattr(defaults, name):
            argv += [flag, _argv_value(value)]
    if config.enforce_limits:
        argv.append("--enforce-limits")
    unsupported = [
        f.name
        for f in dataclasses.fields(config)
        if f.name not in {n for n, _, _ in _CLI_FIELDS} | {"enforce_limits"}
        and getattr(config, f.name) != getattr(defaults, f.name)
    ]
    if unsupported:
        raise ValueError(f"these config fields cannot be passed to a subprocess: {unsupported}")
    return argv


class SimulatorProcess(_Endpoints):
    """``python -m polymarket_pipeline.simulator`` in a subprocess; ``.base_url``/``.admin`` once ready."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 120.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.config = config or SimulatorConfig()
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args)
        self.base_url = ""
        self.process: subprocess.Popen[str] | None = None
        self._admin: SimulatorAdmin | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> SimulatorProcess:
        argv = [
            sys.executable,
            "-m",
            "polymarket_pipeline.simulator",
            "--host",
            self.host,
            "--port",
            str(self.port),
            *config_to_argv(self.config),
            *self.extra_args,
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None

        def pump() -> None:  # keep draining stdout so the child never blocks on a full pipe
            for line in stdout:
                lines.put(line)
            lines.put(None)

        self._pump = threading.Thread(target=pump, name="simulator-stdout", daemon=True)
        self._pump.start()
        prefix = f"export {ENV_DATA}="
        deadline = time.monotonic() + self.startup_timeout
        while not self.base_url:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError("the simulator subprocess did not become ready in time") from None
            if line is None:
                self.stop()
                raise RuntimeError("the simulator subprocess exited before it was ready")
            if line.startswith(prefix):
                self.base_url = line[len(prefix) :].strip().removesuffix("/data")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._pump is not None:  # the child is gone, so its stdout hits EOF and the pump ends
            self._pump.join(timeout)
            self._pump = None
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
