"""``scripts/dev.sh`` as a user runs it: real ``dagster dev``, real simulator, stopped by SIGTERM.

Each test runs a copy of the script in a temporary project root (so the ``.env`` it writes never
touches this checkout), with the test's virtualenv, its own data folder, Dagster home and ports.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import dagster as dg
import httpx
import psutil
import pytest
from click.testing import CliRunner
from dotenv import dotenv_values

from polymarket_pipeline.cli import cli
from polymarket_pipeline.db import wallets
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.settings import env_names
from polymarket_pipeline.simulator.model import SimulatorConfig

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PROJECT_FILES = ["scripts/dev.sh", "scripts/bootstrap.sh", "scripts/seed_demo.py", "dagster.yaml",
                 "pyproject.toml", "requirements.lock"]  # fmt: skip
UI_TIMEOUT = 180.0
STATE_FILE_SUPPORTED = "state_file" in {f.name for f in dataclasses.fields(SimulatorConfig)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class DevRun:
    root: Path
    data: Path
    home: Path
    ui_port: int
    sim_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.root / "dev.log"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self, **env: str) -> None:
        ours = {*env_names().values(), "POLYMARKET_ENV_FILE"}  # DAGSTER_HOME is one of the settings
        base = {k: v for k, v in os.environ.items() if k not in ours}
        base.update(
            POLYMARKET_VENV=str(Path(sys.executable).parent.parent),  # bootstrap finds it installed
            POLYMARKET_DATA_DIR=str(self.data),
            DAGSTER_HOME=str(self.home),
            DAGSTER_PORT=str(self.ui_port),
            SIM_PORT=str(self.sim_port),
            SIM_WALLETS="12",
            **env,
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["bash", str(self.root / "scripts" / "dev.sh")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=base,
                cwd=self.root,
                # as `scripts/dev.sh &` in a script or a service manager starts it: SIGINT ignored,
                # which its children inherit (and `dagster dev` then ignored SIGTERM too)
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
            )

    def wait_for_ui(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + UI_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"dev.sh exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.ui_port}/server_info", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"the Dagster UI did not answer within {UI_TIMEOUT:.0f} s:\n{self.output()[-3000:]}")

    def stop_with_sigterm(self) -> int:
        """SIGTERM to dev.sh alone (as a service manager sends it); every process it started must end."""
        assert self.process is not None
        children = psutil.Process(self.process.pid).children(recursive=True)
        assert any("dagster" in " ".join(p.cmdline()) for p in children)
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=90)
        _, alive = psutil.wait_procs(children, timeout=10)
        leftovers = [f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in alive if p.is_running()]
        for proc in alive:  # never leave them behind, even when the assertion below fails
            proc.kill()
        assert leftovers == [], f"processes left behind:\n{leftovers}\n{self.output()[-3000:]}"
        # a graceful stop (dagster dev's own shutdown), not dev.sh's last-resort SIGKILL
        assert "Dagster services shut down." in self.output(), self.output()[-3000:]
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            for proc in psutil.Process(self.process.pid).children(recursive=True):
                proc.kill()
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevRun]:
    root = tmp_path / "project"
    for name in PROJECT_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    run = DevRun(root, tmp_path / "data", tmp_path / "dagster_home", _free_port(), _free_port())
    try:
        yield run
    finally:
        run.kill()


def _seed_demo_module(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed_demo", root / "scripts" / "seed_demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_real_api_mode_warns_about_demo_wallets_and_stops_on_sigterm(dev: DevRun) -> None:
    """POLYMARKET_SIMULATOR=off on a database a simulator demo seeded: dev.sh says which APIs it
    uses and that the demo wallets would now be polled against them; SIGTERM stops everything."""
    demo = ["0x" + "a" * 40, "0x" + "b" * 40]
    engine = create_db_engine(f"sqlite:///{dev.data / 'polymarket.sqlite'}")
    upgrade(engine)
    with engine.begin() as connection:
        wallets.register_wallets(connection, [*demo, "0x" + "c" * 40])  # one the operator added
        _seed_demo_module(dev.root)._record(connection, demo, "http://127.0.0.1:1")
    engine.dispose()

    dev.start(POLYMARKET_SIMULATOR="off")
    dev.wait_for_ui()
    output = dev.output()
    assert "APIs: the real Polymarket APIs (POLYMARKET_SIMULATOR=off)" in output
    for url in (
        "https://data-api.polymarket.com",
        "https://clob.polymarket.com",
        "https://gamma-api.polymarket.com",
    ):
        assert url in output
    assert "warning: 2 demo wallets from the simulator are still active" in output
    written = dotenv_values(dev.root / ".env")
    assert written["POLYMARKET_DATA_API_URL"] == "https://data-api.polymarket.com"
    assert written["POLYMARKET_DATABASE_URL"] == f"sqlite:///{dev.data / 'polymarket.sqlite'}"
    assert written["DAGSTER_HOME"] == str(dev.home)

    assert dev.stop_with_sigterm() in (0, 143)


def test_simulator_mode_shares_its_settings_with_a_second_shell(
    dev: DevRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default mode: the simulator's URLs reach .env, so `integrations run` from another shell
    in the project uses the same simulator, database and Dagster instance (the UI lists its run)."""
    script = dev.root / "scripts" / "dev.sh"
    text = script.read_text()
    flag = '--state-file "$POLYMARKET_DATA_DIR/simulator_state.json" '
    assert flag in text
    if not STATE_FILE_SUPPORTED:
        # Until the simulator branch adds `simulate --state-file`, run the copy without that flag
        # (dev.sh itself passes it unconditionally).
        script.write_text(text.replace(flag, ""))

    dev.start()
    dev.wait_for_ui()
    sim_url = f"http://127.0.0.1:{dev.sim_port}"
    assert "APIs: the simulator" in dev.output()
    assert f"Data API  {sim_url}/data (v2)" in dev.output()
    assert "registered 12 simulator wallets (5 hot)" in dev.output()
    # no warning a newcomer cannot act on: each was fixed or is explained in one line
    for noise in ("SupersessionWarning", "BetaWarning", "Found a dagster instance configuration value"):
        assert noise not in dev.output(), noise
    assert "'No cursor for event type …' once" in dev.output()
    written = dotenv_values(dev.root / ".env")
    assert {
        key: written[key]
        for key in ("POLYMARKET_DATA_API_URL", "POLYMARKET_CLOB_API_URL", "POLYMARKET_GAMMA_API_URL")
    } == {
        "POLYMARKET_DATA_API_URL": f"{sim_url}/data",
        "POLYMARKET_CLOB_API_URL": f"{sim_url}/clob",
        "POLYMARKET_GAMMA_API_URL": f"{sim_url}/gamma",
    }
    if STATE_FILE_SUPPORTED:
        assert (dev.data / "simulator_state.json").exists()

    # A second shell: nothing exported, only the project directory (and so its .env).
    for name in [*env_names().values(), "POLYMARKET_ENV_FILE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(dev.root)
    result = CliRunner().invoke(cli, ["integrations", "run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Users: 3 succeeded, 0 failed" in result.stdout
    run_id = next(
        line.split()[1].rstrip(":") for line in result.stdout.splitlines() if line.startswith("  run ")
    )
    query = f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ jobName status }} }} }}'
    answer = httpx.post(f"http://127.0.0.1:{dev.ui_port}/graphql", json={"query": query}, timeout=30).json()
    assert answer["data"]["runOrError"] == {"jobName": "integrations_job", "status": "SUCCESS"}
    with dg.DagsterInstance.from_config(str(dev.home)) as instance:
        assert instance.get_run_by_id(run_id) is not None

    assert dev.stop_with_sigterm() in (0, 143)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{sim_url}/data/trades", timeout=2)
