"""The real ``dagster`` CLI on the real code location, configured only by environment variables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.support import (
    register,
    stored_fills,
    stored_positions,
    truth_fills,
    truth_positions,
)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(seed=41, n_wallets=5, n_markets=6, history_days=3)) as server:
        yield server


def dagster(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    return subprocess.run(
        [executable, *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_materialize_from_the_cli_reads_its_configuration_from_the_environment(
    sim: SimulatorServer, sqlite_url: str, tmp_path: Path
) -> None:
    db_url = sqlite_url
    engine = create_db_engine(db_url)
    upgrade(engine)
    register(engine, sim.model.wallets)
    env = {
        "DAGSTER_HOME": str(tmp_path),
        "POLYMARKET_DATABASE_URL": db_url,
        "POLYMARKET_DATA_API_URL": sim.data_api_url,
        "POLYMARKET_CLOB_API_URL": sim.clob_api_url,
        "POLYMARKET_GAMMA_API_URL": sim.gamma_api_url,
        "POLYMARKET_DATA_API_VERSION": "v1",
        "POLYMARKET_COLD_RATE_LIMIT": "100",
        "POLYMARKET_COLD_BURST": "50",
    }
    result = dagster(
        "job", "execute", "-m", "polymarket_pipeline.definitions", "-j", "cold_wallets_job",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    truth = sim.model.ground_truth()
    assert stored_fills(engine) == truth_fills(truth)
    assert stored_positions(engine) == pytest.approx(truth_positions(truth))
    requests = sim.log.records()
    assert requests
    assert all(not r.route.startswith("/v2/") for r in requests if r.api == "data")  # v1 from the env var
    engine.dispose()

    bad = dagster(
        "asset", "materialize", "-m", "polymarket_pipeline.definitions",
        "--select", "trades_public,activity_public,positions_current,positions_closed",
        env={**env, "POLYMARKET_DATA_API_VERSION": "v3"}, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode != 0
    # refused where the code loads, naming the variable (polymarket_pipeline.settings)
    assert "POLYMARKET_DATA_API_VERSION: must be 'v1' or 'v2' (got 'v3')" in bad.stdout + bad.stderr
