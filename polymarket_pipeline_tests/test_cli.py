"""The ``polymarket-pipeline`` command.

Through click's CliRunner, in process (fast), against real SQLite/PostgreSQL databases, the real
simulator over HTTP and a real Dagster instance; plus one smoke test of the installed console
script as a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.cli import _simulator_config, cli
from polymarket_pipeline.db import wallets
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.settings import env_names
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.pnl import update_pnl
from polymarket_pipeline.sync.sweep import sweep
from polymarket_pipeline_tests.support import fast_settings

WALLET = "0x1111111111111111111111111111111111111111"
OTHER = "0x2222222222222222222222222222222222222222"
THIRD = "0x3333333333333333333333333333333333333333"
SECRET = "s3cr3t-pw"


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No setting from the machine, an empty working directory (no .env); whatever a command
    exports (integrations run sets the database URL and DAGSTER_HOME) is undone afterwards."""
    for name in [*env_names().values(), "POLYMARKET_ENV_FILE"]:
        monkeypatch.delenv(name, raising=False)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def invoke(*args: str, db: str | None = None) -> Result:
    argv = [*(["--database-url", db] if db else []), *args]
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def assert_one_error(result: Result, code: int, *fragments: str) -> str:
    """Exit ``code`` and exactly one ``error:`` line on stderr (containing every fragment)."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == code, (result.exit_code, result.output)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def _count(db_url: str, table: str) -> int:
    engine = create_db_engine(db_url)
    with engine.connect() as connection:
        value = connection.scalar(sa.text(f"SELECT count(*) FROM {table}"))
    engine.dispose()
    return int(value or 0)


@pytest.fixture
def migrated(sqlite_url: str) -> str:
    assert invoke("db", "upgrade", db=sqlite_url).exit_code == 0
    return sqlite_url


# --- registry ----------------------------------------------------------------------------------
def test_registry_commands_round_trip(db_url: str) -> None:
    assert invoke("db", "upgrade", db=db_url).exit_code == 0
    second = invoke("db", "upgrade", db=db_url)
    assert second.exit_code == 0
    assert "already" in second.stdout

    assert invoke("wallets", "add", WALLET.upper().replace("0X", "0x"), db=db_url).exit_code == 0
    assert invoke("wallets", "add", OTHER, "--hot", db=db_url).exit_code == 0
    assert invoke("follows", "add", "alice", THIRD, db=db_url).exit_code == 0
    listing = invoke("wallets", "list", db=db_url).stdout
    assert f"{WALLET}  cold" in listing  # stored lower-case
    assert f"{OTHER}  hot" in listing
    assert f"{THIRD}  hot" in listing  # following registers it

    assert invoke("wallets", "remove", WALLET, db=db_url).exit_code == 0
    assert f"{WALLET}  inactive" in invoke("wallets", "list", db=db_url).stdout
    assert invoke("wallets", "add", WALLET, db=db_url).exit_code == 0  # reactivates
    assert f"{WALLET}  cold" in invoke("wallets", "list", db=db_url).stdout

    assert invoke("links", "add", "u1", WALLET, db=db_url).exit_code == 0
    again = invoke("links", "add", "u1", WALLET, db=db_url)
    assert again.exit_code == 0
    assert "already" in again.stdout
    assert _count(db_url, "wallet_links") == 1
    assert invoke("links", "remove", "u1", WALLET, db=db_url).exit_code == 0
    assert _count(db_url, "wallet_links") == 0
    assert invoke("follows", "remove", "alice", THIRD, db=db_url).exit_code == 0


def test_follows_list_shows_each_users_wallets_and_their_tier(migrated: str) -> None:
    for user, wallet in (("alice", WALLET), ("alice", OTHER), ("bob", WALLET)):
        assert invoke("follows", "add", user, wallet, db=migrated).exit_code == 0
    assert invoke("wallets", "remove", OTHER, db=migrated).exit_code == 0

    rows = [line.split() for line in invoke("follows", "list", db=migrated).stdout.splitlines()]
    assert rows[0][:3] == ["user", "wallet", "tier"]
    assert [row[:3] for row in rows[1:]] == [
        ["alice", WALLET, "hot"],
        ["alice", OTHER, "inactive"],  # still followed, but no longer polled
        ["bob", WALLET, "hot"],
    ]
    bob = [line.split()[:2] for line in invoke("follows", "list", "bob", db=migrated).stdout.splitlines()[1:]]
    assert bob == [["bob", WALLET]]
    assert_one_error(invoke("follows", "list", "carol", db=migrated), 1, "'carol'")


def test_links_list_shows_each_links_chain(migrated: str) -> None:
    assert invoke("links", "add", "u1", WALLET, db=migrated).exit_code == 0
    assert invoke("links", "add", "u1", OTHER, "--chain", "Polygon", db=migrated).exit_code == 0
    assert invoke("links", "add", "u2", THIRD, db=migrated).exit_code == 0

    rows = [line.split() for line in invoke("links", "list", db=migrated).stdout.splitlines()]
    assert rows[0][:3] == ["user", "chain", "address"]
    assert [row[:3] for row in rows[1:]] == [
        ["u1", "polygon", WALLET],
        ["u1", "polygon", OTHER],  # the chain is stored in its canonical spelling
        ["u2", "polygon", THIRD],
    ]
    u2 = [line.split()[:3] for line in invoke("links", "list", "u2", db=migrated).stdout.splitlines()[1:]]
    assert u2 == [["u2", "polygon", THIRD]]
    assert_one_error(invoke("links", "list", "nobody", db=migrated), 1, "'nobody'")


# --- bad input: one line, exit 2, nothing written ---------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("wallets", "add", "0x123"), "0x123"),
        (
            ("wallets", "add", "1111111111111111111111111111111111111111"),
            "1111111111111111111111111111111111111111",
        ),
        (("follows", "add", "alice", "0xZZ11111111111111111111111111111111111111"), "0xZZ"),
        (("links", "add", "u1", "not-an-address"), "not-an-address"),
        (("links", "add", "", WALLET), "user id"),
        (("links", "add", "u1", WALLET, "--chain", ""), "--chain"),
        (("links", "add", "u1", WALLET, "--chain", "ethereum"), "'ethereum'"),
        (("links", "remove", "u1", WALLET, "--chain", ""), "--chain"),
        (("follows", "list", "   "), "user id"),
        (("wallets", "frobnicate"), "frobnicate"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    migrated: str, args: tuple[str, ...], fragment: str
) -> None:
    assert_one_error(invoke(*args, db=migrated), 2, fragment)
    for table in ("wallet_poll_state", "follows", "wallet_links"):
        assert _count(migrated, table) == 0


def test_unknown_user_and_wallet_are_errors(migrated: str) -> None:
    assert invoke("follows", "add", "alice", WALLET, db=migrated).exit_code == 0
    assert_one_error(invoke("follows", "remove", "bob", WALLET, db=migrated), 1, "'bob'")
    assert_one_error(invoke("links", "remove", "nobody", WALLET, db=migrated), 1, "'nobody'")
    assert_one_error(invoke("wallets", "remove", OTHER, db=migrated), 1, OTHER)
    assert _count(migrated, "follows") == 1


def test_schema_not_applied_is_reported(sqlite_url: str) -> None:
    assert_one_error(invoke("wallets", "add", WALLET, db=sqlite_url), 1, "db upgrade")


def test_a_schema_from_a_newer_release_is_refused_by_every_command(migrated: str) -> None:
    engine = create_db_engine(migrated)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    for args in (("wallets", "list"), ("links", "add", "u1", WALLET), ("db", "upgrade")):
        line = assert_one_error(invoke(*args, db=migrated), 2, "newer polymarket_pipeline", "0099_future")
        assert "upgrade the code" in line
        assert "db upgrade`" not in line
    assert "current: 0099_future" in invoke("db", "current", db=migrated).stdout
    assert _count(migrated, "wallet_links") == 0


def test_unreachable_database_names_it_without_the_password() -> None:
    url = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/nowhere"
    result = invoke("wallets", "add", WALLET, db=url)
    assert_one_error(result, 1, "127.0.0.1:1/nowhere")
    assert SECRET not in result.output


@pytest.mark.parametrize("scheme", ["postgresql+asyncpg", "mysql", "postgresql+psycopg2"])
def test_unsupported_drivers_are_bad_input_with_the_supported_list(
    scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{scheme}://app:{SECRET}@127.0.0.1/app"
    as_option = invoke("wallets", "list", db=url)
    assert_one_error(as_option, 2, f"'{scheme}'", "sqlite://", "postgresql+psycopg://")
    monkeypatch.setenv("POLYMARKET_DATABASE_URL", url)
    from_env = invoke("links", "list")
    assert_one_error(from_env, 2, "POLYMARKET_DATABASE_URL", f"'{scheme}'", "postgresql+psycopg://")
    assert SECRET not in as_option.output + from_env.output


def test_a_bad_setting_is_one_line_naming_the_variable(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYMARKET_HOT_RATE_LIMIT", "fast")
    assert_one_error(invoke("settings"), 2, "POLYMARKET_HOT_RATE_LIMIT", "'fast'")
    assert_one_error(invoke("settings", "POLYMARKET_NOPE"), 2, "POLYMARKET_NOPE")


# --- settings and .env ---------------------------------------------------------------------------
def test_settings_prints_what_is_in_effect_with_the_password_masked(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYMARKET_DATABASE_URL", f"postgresql+psycopg://app:{SECRET}@db/app")
    shown = invoke("settings").stdout
    assert "POLYMARKET_DATABASE_URL='postgresql+psycopg://app:***@db/app'" in shown  # quoted: valid shell
    assert "POLYMARKET_DATA_API_URL=https://data-api.polymarket.com" in shown
    assert "POLYMARKET_SIMULATOR=on" in shown
    assert SECRET not in shown
    revealed = invoke("settings", "--show-secrets", "polymarket_database_url", "DAGSTER_HOME").stdout
    assert revealed.splitlines() == [
        f"POLYMARKET_DATABASE_URL=postgresql+psycopg://app:{SECRET}@db/app",
        "DAGSTER_HOME=",
    ]


def test_dotenv_in_the_working_directory_is_used(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What dev.sh relies on: a second shell in the project reads the same database from .env."""
    from_file = tmp_path / "from-dotenv.sqlite"
    (clean_env / ".env").write_text(f"POLYMARKET_DATABASE_URL=sqlite:///{from_file}\n")
    assert invoke("db", "upgrade").exit_code == 0
    assert invoke("wallets", "add", WALLET).exit_code == 0
    assert _count(f"sqlite:///{from_file}", "wallet_poll_state") == 1

    from_env = tmp_path / "from-env.sqlite"  # the environment wins over the file
    monkeypatch.setenv("POLYMARKET_DATABASE_URL", f"sqlite:///{from_env}")
    assert invoke("db", "upgrade").exit_code == 0
    assert from_env.exists()


# --- integrations run --------------------------------------------------------------------------
def _today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.mark.parametrize(
    ("date_arg", "fragments"),
    [
        ("<tomorrow>", ("in the future", "today")),
        ("2099-01-01", ("in the future",)),
        ("2025-12-31", ("before the first integrations partition", "POLYMARKET_INTEGRATIONS_START")),
        ("yesterday", ("YYYY-MM-DD",)),
        ("2026-02-30", ("YYYY-MM-DD",)),
    ],
)
def test_integrations_dates_outside_the_partitions_are_bad_input(
    migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, date_arg: str, fragments: tuple[str, ...]
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    if date_arg == "<tomorrow>":  # resolved when the test runs, not when it is collected (midnight)
        date_arg = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    assert_one_error(invoke("integrations", "run", "--date", date_arg, db=migrated), 2, "--date", *fragments)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_runs() == []  # refused before any run was started


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(seed=5, n_wallets=4, n_markets=5, history_days=3)) as server:
        yield server


def test_integrations_run_is_recorded_in_the_dagster_instance_named_by_dotenv(
    migrated: str, sim: SimulatorServer, clean_env: Path, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # as dev.sh's instance has
    (clean_env / ".env").write_text(
        f"POLYMARKET_DATA_API_URL={sim.data_api_url}\n"
        f"POLYMARKET_CLOB_API_URL={sim.clob_api_url}\n"
        f"POLYMARKET_GAMMA_API_URL={sim.gamma_api_url}\n"
        f"POLYMARKET_DATABASE_URL={migrated}\n"
        f"DAGSTER_HOME={home}\n"
    )
    a, b, c = sim.model.wallets[:3]
    for user, wallet in (("u1", a), ("u1", b), ("u2", c)):
        assert invoke("links", "add", user, wallet).exit_code == 0

    ok = invoke("integrations", "run")
    assert ok.exit_code == 0, ok.output
    assert ok.stderr == ""
    assert "Users: 2 succeeded, 0 failed, 0 skipped" in ok.stdout
    assert "Wallets: 3" in ok.stdout
    assert f"Data API {sim.data_api_url}" in ok.stdout

    sim.faults.add(FaultRule(kind="500", wallet=c))
    failed = invoke("integrations", "run", "--force")
    assert failed.exit_code == 1
    assert "Users: 1 succeeded, 1 failed" in failed.stdout
    assert f"FAILED u2: user u2, wallet {c}" in failed.stdout

    past = "2026-01-02"
    refused = invoke("integrations", "run", "--date", past)
    assert_one_error(refused, 1, f"cannot sync {past}")

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="integrations_job"))[::-1]  # oldest first
        assert [(run.status, run.tags["dagster/partition"]) for run in runs] == [
            (dg.DagsterRunStatus.SUCCESS, _today()),
            (dg.DagsterRunStatus.SUCCESS, _today()),  # a failed user is isolated, not a failed run
            (dg.DagsterRunStatus.FAILURE, past),
        ]
        assert all(run.tags["polymarket/launched_by"] == "cli" for run in runs)
        assert runs[1].run_config["ops"]["integrations"]["config"] == {"force": True}
        assert f"run {runs[0].run_id}: success" in ok.stdout
        materialized = instance.get_latest_materialization_event(dg.AssetKey("external_markets"))
        assert materialized is not None
        assert materialized.run_id == runs[1].run_id
        # the database URL stays an EnvVar: the stored run holds the variable's name, not the URL
        snapshot = repr(instance.get_job_snapshot(runs[0].job_snapshot_id or "")) + repr(runs[0].run_config)
        assert migrated not in snapshot


def test_integrations_run_without_a_dagster_home_says_so(
    migrated: str, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYMARKET_DATA_API_URL", sim.data_api_url)
    monkeypatch.setenv("POLYMARKET_CLOB_API_URL", sim.clob_api_url)
    monkeypatch.setenv("POLYMARKET_GAMMA_API_URL", sim.gamma_api_url)
    result = invoke("integrations", "run", db=migrated)
    assert result.exit_code == 0, result.output
    assert "ephemeral Dagster instance" in result.stdout
    assert "Users: 0 succeeded, 0 failed, 0 skipped" in result.stdout


def test_integrations_run_with_a_missing_dagster_home_is_bad_input(
    migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "missing"))
    assert_one_error(invoke("integrations", "run", db=migrated), 2, "DAGSTER_HOME", "not a directory")


# --- simulate ------------------------------------------------------------------------------------
def test_simulate_passes_the_simulators_other_options_through() -> None:
    base = SimulatorConfig(seed=3, n_wallets=7, live_trades_per_second=0.2)
    config = _simulator_config(base, ["--v1-offset-cap", "100", "--live-tps", "4"])
    assert (config.seed, config.n_wallets) == (3, 7)  # the CLI's own options are kept
    assert (config.v1_offset_cap, config.live_trades_per_second) == (100, 4.0)
    assert _simulator_config(base, []) == base


def test_simulate_with_an_unknown_option_is_one_line() -> None:
    assert_one_error(invoke("simulate", "--port", "0", "--no-such-flag", "1"), 2, "--no-such-flag")


# --- the installed command -------------------------------------------------------------------
def _command() -> list[str]:
    script = shutil.which("polymarket-pipeline", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "polymarket_pipeline.cli"]


def test_installed_command_smoke(clean_env: Path) -> None:
    """The console script as users run it: default database in ./data, exit codes, one-line errors."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYMARKET_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_command(), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=clean_env,
            timeout=120,
            check=False,
        )

    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (clean_env / "data" / "polymarket.sqlite").exists()
    assert run("wallets", "add", WALLET).returncode == 0
    assert WALLET in run("wallets", "list").stdout
    bad = run("links", "add", "u1", WALLET, "--chain", "")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert bad.stderr.startswith("error: ")


@pytest.mark.parametrize(
    "listing", [("wallets", "list"), ("follows", "list"), ("links", "list")], ids=lambda a: a[0]
)
def test_a_reader_that_stops_early_ends_the_listing_quietly(
    clean_env: Path, sqlite_url: str, listing: tuple[str, ...]
) -> None:
    """``… list | head -1`` with thousands of rows: exit 0 or 141 (SIGPIPE), nothing on stderr."""
    assert invoke("db", "upgrade", db=sqlite_url).exit_code == 0
    engine = create_db_engine(sqlite_url)
    addresses = [f"0x{i:040x}" for i in range(1, 4001)]
    with engine.begin() as connection:
        wallets.register_wallets(connection, addresses)
        for i, address in enumerate(addresses):
            wallets.add_follow(connection, f"user{i % 50}", address)
            wallets.add_link(connection, f"user{i % 50}", address)
    engine.dispose()
    command = " ".join(shlex.quote(part) for part in [*_command(), "--database-url", sqlite_url, *listing])
    script = f"set -o pipefail; {command} 2>stderr.txt | head -1 > first.txt; echo ${{PIPESTATUS[0]}}"
    status = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, cwd=clean_env, timeout=120, check=False
    )
    assert status.stdout.strip() in ("0", "141"), (status.stdout, status.stderr)
    assert (clean_env / "stderr.txt").read_text() == ""
    assert (clean_env / "first.txt").read_text().strip()  # the header line did arrive


def test_pnl_show_prints_a_wallets_and_a_users_figures(migrated: str, sim: SimulatorServer) -> None:
    engine = create_db_engine(migrated)
    wallet, other = sim.model.wallets[0], sim.model.wallets[1]
    with engine.begin() as connection:
        wallets.register_wallets(connection, sim.model.wallets)
        wallets.add_link(connection, "ann", wallet)
        wallets.add_link(connection, "ann", other)

    async def sweep_all() -> None:
        async with PolymarketClient(fast_settings(sim)) as client:
            await sweep(client, engine, sim.model.wallets)

    asyncio.run(sweep_all())
    update_pnl(engine, now=datetime.now(UTC))
    with engine.connect() as connection:
        stats = connection.execute(
            sa.text("SELECT realized_pnl, fills FROM trader_stats WHERE wallet_address = :w"), {"w": wallet}
        ).one()
    engine.dispose()

    shown = invoke("pnl", "show", wallet.upper().replace("0X", "0x"), db=migrated)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0].startswith(wallet)
    assert f"realized {float(stats.realized_pnl):,.2f}" in shown.stdout
    assert f"over {stats.fills} fills" in shown.stdout
    assert "top positions" in shown.stdout

    user = invoke("pnl", "show", "--user", "ann", db=migrated)
    assert user.exit_code == 0, user.output
    assert "user ann (2 linked wallets)" in user.stdout
    assert wallet in user.stdout
    assert other in user.stdout

    assert_one_error(invoke("pnl", "show", OTHER, db=migrated), 1, OTHER)  # registered nowhere
    assert_one_error(invoke("pnl", "show", "--user", "nobody", db=migrated), 1, "'nobody'")
    assert_one_error(invoke("pnl", "show", db=migrated), 2, "ADDRESS or --user")
    assert_one_error(invoke("pnl", "show", wallet, "--user", "ann", db=migrated), 2, "one of them")
    assert_one_error(invoke("pnl", "show", "0x123", db=migrated), 2, "0x123")
