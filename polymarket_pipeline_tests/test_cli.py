"""The ``polymarket-pipeline`` command, run as a real subprocess (the installed console script)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from polymarket_pipeline.db.engine import create_db_engine

WALLET = "0x1111111111111111111111111111111111111111"
OTHER = "0x2222222222222222222222222222222222222222"


def _command() -> list[str]:
    script = shutil.which("polymarket-pipeline", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "polymarket_pipeline.cli"]


def run(db_url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POLYMARKET_DATABASE_URL": db_url}
    return subprocess.run(
        [*_command(), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )


def _count(db_url: str, table: str) -> int:
    engine = create_db_engine(db_url)
    with engine.connect() as connection:
        value = connection.scalar(sa.text(f"SELECT count(*) FROM {table}"))
    engine.dispose()
    return int(value or 0)


def test_registry_commands_round_trip(db_url: str) -> None:
    assert run(db_url, "db", "upgrade").returncode == 0
    second = run(db_url, "db", "upgrade")
    assert second.returncode == 0
    assert "already" in second.stdout

    assert run(db_url, "wallets", "add", WALLET.upper().replace("0X", "0x")).returncode == 0
    assert run(db_url, "wallets", "add", OTHER, "--hot").returncode == 0
    assert (
        run(db_url, "follows", "add", "alice", "0x3333333333333333333333333333333333333333").returncode == 0
    )
    listing = run(db_url, "wallets", "list").stdout
    assert f"{WALLET}  cold" in listing  # stored lower-case
    assert f"{OTHER}  hot" in listing
    assert "0x3333333333333333333333333333333333333333  hot" in listing  # following registers it

    assert run(db_url, "wallets", "remove", WALLET).returncode == 0
    assert f"{WALLET}  inactive" in run(db_url, "wallets", "list").stdout
    assert run(db_url, "wallets", "add", WALLET).returncode == 0  # reactivates
    assert f"{WALLET}  cold" in run(db_url, "wallets", "list").stdout

    assert run(db_url, "links", "add", "u1", WALLET).returncode == 0
    again = run(db_url, "links", "add", "u1", WALLET)
    assert again.returncode == 0
    assert "already" in again.stdout
    assert _count(db_url, "wallet_links") == 1
    assert run(db_url, "links", "remove", "u1", WALLET).returncode == 0
    assert _count(db_url, "wallet_links") == 0
    assert (
        run(db_url, "follows", "remove", "alice", "0x3333333333333333333333333333333333333333").returncode
        == 0
    )


@pytest.mark.parametrize(
    "args",
    [
        ("wallets", "add", "0x123"),
        ("wallets", "add", "1111111111111111111111111111111111111111"),
        ("follows", "add", "alice", "0xZZ11111111111111111111111111111111111111"),
        ("links", "add", "u1", "not-an-address"),
        ("links", "add", "", WALLET),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(sqlite_url: str, args: tuple[str, ...]) -> None:
    assert run(sqlite_url, "db", "upgrade").returncode == 0
    result = run(sqlite_url, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert args[-1] in lines[0] or "user id" in lines[0]
    for table in ("wallet_poll_state", "follows", "wallet_links"):
        assert _count(sqlite_url, table) == 0


def test_unknown_user_and_wallet_are_errors(sqlite_url: str) -> None:
    assert run(sqlite_url, "db", "upgrade").returncode == 0
    assert run(sqlite_url, "follows", "add", "alice", WALLET).returncode == 0
    result = run(sqlite_url, "follows", "remove", "bob", WALLET)
    assert result.returncode == 1
    assert "'bob'" in result.stderr
    result = run(sqlite_url, "links", "remove", "nobody", WALLET)
    assert result.returncode == 1
    assert "'nobody'" in result.stderr
    result = run(sqlite_url, "wallets", "remove", OTHER)
    assert result.returncode == 1
    assert OTHER in result.stderr
    assert _count(sqlite_url, "follows") == 1


def test_schema_not_applied_is_reported(sqlite_url: str) -> None:
    result = run(sqlite_url, "wallets", "add", WALLET)
    assert result.returncode == 1
    assert "db upgrade" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_database_names_it_without_the_password() -> None:
    url = "postgresql+psycopg://postgres:s3cr3t-pw@127.0.0.1:1/nowhere"
    result = run(url, "wallets", "add", WALLET)
    assert result.returncode == 1
    assert "127.0.0.1:1/nowhere" in result.stderr
    assert "s3cr3t-pw" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_default_database_is_a_sqlite_file_in_the_local_data_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("POLYMARKET_DATABASE_URL", "POLYMARKET_DATA_DIR")}
    result = subprocess.run(
        [*_command(), "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "polymarket.sqlite").exists()


def test_integrations_run_prints_the_summary_and_fails_when_a_user_fails(
    sqlite_url: str, tmp_path: Path
) -> None:
    from polymarket_pipeline.simulator.faults import FaultRule
    from polymarket_pipeline.simulator.model import SimulatorConfig
    from polymarket_pipeline.simulator.server import SimulatorServer

    with SimulatorServer(SimulatorConfig(seed=5, n_wallets=4, n_markets=5, history_days=3)) as sim:
        env = {
            "POLYMARKET_DATA_API_URL": sim.data_api_url,
            "POLYMARKET_CLOB_API_URL": sim.clob_api_url,
            "POLYMARKET_GAMMA_API_URL": sim.gamma_api_url,
            "DAGSTER_HOME": str(tmp_path),
        }
        os.environ.update(env)
        try:
            assert run(sqlite_url, "db", "upgrade").returncode == 0
            a, b, c = sim.model.wallets[:3]
            assert run(sqlite_url, "links", "add", "u1", a).returncode == 0
            assert run(sqlite_url, "links", "add", "u1", b).returncode == 0
            assert run(sqlite_url, "links", "add", "u2", c).returncode == 0

            ok = run(sqlite_url, "integrations", "run")
            assert ok.returncode == 0, ok.stderr
            assert "Users: 2 succeeded, 0 failed, 0 skipped" in ok.stdout
            assert "Wallets: 3" in ok.stdout

            sim.faults.add(FaultRule(kind="500", wallet=c))
            failed = run(sqlite_url, "integrations", "run", "--force")
            assert failed.returncode == 1
            assert "Users: 1 succeeded, 1 failed" in failed.stdout
            assert f"FAILED u2: user u2, wallet {c}" in failed.stdout

            past = run(sqlite_url, "integrations", "run", "--date", "2026-01-02")
            assert past.returncode == 1
            assert "cannot sync 2026-01-02" in past.stderr
            bad = run(sqlite_url, "integrations", "run", "--date", "yesterday")
            assert bad.returncode == 2
            assert "YYYY-MM-DD" in bad.stderr
        finally:
            for key in env:
                os.environ.pop(key, None)
