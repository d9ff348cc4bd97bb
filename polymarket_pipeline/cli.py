"""The ``polymarket-pipeline`` command: schema, wallet registry, integrations, settings, simulator.

Every command validates its input before it touches the database and reports a problem as one
``error: …`` line on stderr: exit status 2 for bad input (arguments, settings, a database URL
this code cannot use, a database migrated by a newer release), 1 for operational failures (the
database unreachable or not migrated, an unknown user or wallet, a failed run). A typo never
writes half a change.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from polymarket_pipeline.db import migrate, wallets
from polymarket_pipeline.db.engine import DatabaseConfigError, create_db_engine, reading
from polymarket_pipeline.domain.addresses import InvalidAddressError, normalize_address
from polymarket_pipeline.settings import (
    DATABASE_URL_VARIABLE,
    DatabaseUrlError,
    Settings,
    SettingsError,
    field_for_env_name,
    load_settings,
    mask_database_url,
    parse_database_url,
    settings_lines,
)
from polymarket_pipeline.sync.pnl.report import PnlReport, UnknownSubjectError, user_report, wallet_report

if TYPE_CHECKING:
    import dagster as dg

    from polymarket_pipeline.simulator.model import SimulatorConfig

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141

KNOWN_CHAINS = ("polygon",)
"""Chains a wallet link may name (the integrations sync reads Polymarket, which runs on Polygon)."""

BAD_INPUT: tuple[type[Exception], ...] = (SettingsError, DatabaseConfigError, migrate.SchemaTooNewError)
"""Errors that mean the user must change what they gave us (exit 2)."""
OPERATIONAL: tuple[type[Exception], ...] = (
    migrate.SchemaNotCurrentError,
    wallets.RegistryError,
    UnknownSubjectError,
)
"""Errors about the state of the world (exit 1)."""


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """One ``error:`` line on stderr, then exit; multi-line messages are folded into that line."""
    line = " ".join(part.strip() for part in message.strip().splitlines() if part.strip())
    click.echo(f"error: {line}", err=True)
    sys.exit(code)


def reader_gone() -> NoReturn:
    """The reader of stdout stopped early (``| head``): end quietly, as Unix tools do.

    Exit 141 (128 + SIGPIPE, what a shell reports for ``yes | head``) with nothing on stderr;
    stdout is pointed at /dev/null first so the interpreter's final flush cannot fail again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test's captured stdout)
        pass
    sys.exit(EXIT_BROKEN_PIPE)


class _Cli(click.Group):
    """A group whose every failure is one ``error:`` line (also under click's CliRunner)."""

    def invoke(self, ctx: click.Context) -> Any:
        # click's own main turns a closed pipe into exit 1; it is no failure (``| head``)
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader gone away shows here, not in the interpreter's exit
            return result
        except BrokenPipeError:
            reader_gone()

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            fail(exc.format_message() + hint, EXIT_USAGE)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("aborted", EXIT_FAILURE)
        except BAD_INPUT as exc:
            prefix = "invalid setting: " if isinstance(exc, SettingsError) else ""
            fail(f"{prefix}{exc}", EXIT_USAGE)
        except OPERATIONAL as exc:
            fail(str(exc), EXIT_FAILURE)


class _State:
    """What the group options resolve to; settings load lazily so ``simulate`` needs none."""

    def __init__(self, database_url: str | None) -> None:
        self._database_url = database_url
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def database_url(self) -> str:
        if self._database_url is not None:
            return self._database_url
        return self.settings.app_database_url


def _address(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return normalize_address(value)
    except InvalidAddressError as exc:
        raise click.BadParameter(str(exc)) from None


def _user_id(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 255:
        raise click.BadParameter("user id must be 1 to 255 characters")
    return value


def _database_url_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            parse_database_url(value)
        except DatabaseUrlError as exc:
            raise click.BadParameter(f"the database URL {exc}") from None
    return value


CHAIN = click.Choice(KNOWN_CHAINS, case_sensitive=False)


@contextmanager
def _database(state: _State, *, require_schema: bool = True) -> Iterator[Engine]:
    """An engine on the application database; connection failures become one line naming it."""
    url = state.database_url
    engine = create_db_engine(url)
    try:
        if require_schema:
            migrate.ensure_current(engine)
        yield engine
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        fail(f"cannot use the application database {mask_database_url(url)}: {reason}")
    except SQLAlchemyError as exc:
        fail(f"database error on {mask_database_url(url)}: {type(exc).__name__}")
    finally:
        engine.dispose()


@contextmanager
def _transaction(state: _State) -> Iterator[Connection]:
    """One transaction: a registry error inside it rolls everything back."""
    with _database(state) as engine, engine.begin() as connection:
        yield connection


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    default=None,
    callback=_database_url_option,
    help=f"Application database (default: the settings: {DATABASE_URL_VARIABLE}, .env, else a SQLite "
    "file in the data folder).",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Keep Polymarket traders' trades and positions, and users' linked wallets, up to date."""
    ctx.obj = _State(database_url)


# --- settings ---------------------------------------------------------------------------------
@cli.command("settings")
@click.argument("names", nargs=-1)
@click.option("--show-secrets", is_flag=True, help="Print the database URL with its password.")
@click.pass_obj
def settings_command(state: _State, names: tuple[str, ...], show_secrets: bool) -> None:
    """Print the settings in effect as NAME=value lines (all, or the NAMES given).

    Values come from the environment, then .env (POLYMARKET_ENV_FILE names another file; empty:
    none), then the defaults. The output is valid shell and .env syntax.
    """
    try:
        fields = [field_for_env_name(name) for name in names] or None
    except SettingsError as exc:
        raise click.BadParameter(str(exc), param_hint="NAMES") from None
    for line in settings_lines(state.settings, fields=fields, reveal=show_secrets):
        click.echo(line)


# --- db ---------------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Application schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(state: _State) -> None:
    """Create or migrate the application schema (idempotent)."""
    with _database(state, require_schema=False) as engine:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
    if before == after:
        click.echo(f"schema already at {after}")
    else:
        click.echo(f"schema upgraded {before or '(empty)'} -> {after}")


@db.command("current")
@click.pass_obj
def db_current(state: _State) -> None:
    """Print the schema revision and the revision this code expects."""
    with _database(state, require_schema=False) as engine:
        click.echo(f"current: {migrate.current_revision(engine) or '(empty)'}")
        click.echo(f"head:    {migrate.head_revision()}")


# --- wallets ----------------------------------------------------------------------------------
@cli.group("wallets")
def wallets_group() -> None:
    """Registered wallets (the rows of wallet_poll_state)."""


@wallets_group.command("add")
@click.argument("address", callback=_address)
@click.option("--hot/--no-hot", default=None, help="Pin as hot (polled every few seconds), or unpin.")
@click.pass_obj
def wallets_add(state: _State, address: str, hot: bool | None) -> None:
    """Register (or reactivate) a wallet."""
    with _transaction(state) as connection:
        wallets.register_wallets(connection, [address], hot=hot)
    click.echo(f"registered {address}" + (" (hot)" if hot else ""))


@wallets_group.command("remove")
@click.argument("address", callback=_address)
@click.pass_obj
def wallets_remove(state: _State, address: str) -> None:
    """Stop polling a wallet; its stored history is kept."""
    with _transaction(state) as connection:
        wallets.deactivate_wallet(connection, address)
    click.echo(f"deactivated {address}")


@wallets_group.command("list")
@click.pass_obj
def wallets_list(state: _State) -> None:
    """List registered wallets with their tier and polling state."""
    with _database(state) as engine, reading(engine) as connection:
        rows = wallets.list_wallets(connection)
    click.echo(
        f"{'address':42}  {'tier':8}  {'followers':>9}  {'last trade':25}  {'last polled':25}  "
        f"{'history':25}  error"
    )
    for row in rows:
        click.echo(
            f"{row.wallet_address:42}  {row.tier:8}  {row.followers:>9}  "
            f"{_fmt(row.last_trade_time_seen):25}  {_fmt(row.last_polled_at):25}  {row.history:25}  "
            f"{row.last_error or ''}"
        )


def _fmt(value: object) -> str:
    if isinstance(value, datetime):
        value = value.replace(microsecond=0)
    return "-" if value is None else str(value)


def _user_width(user_ids: Sequence[str]) -> int:
    return max([len("user"), *map(len, user_ids)])


# --- follows ----------------------------------------------------------------------------------
@cli.group("follows")
def follows_group() -> None:
    """Users following traders (followed wallets are hot)."""


@follows_group.command("add")
@click.argument("user_id", callback=_user_id)
@click.argument("address", callback=_address)
@click.pass_obj
def follows_add(state: _State, user_id: str, address: str) -> None:
    """USER_ID follows ADDRESS (registers the wallet too)."""
    with _transaction(state) as connection:
        wallets.add_follow(connection, user_id, address)
    click.echo(f"{user_id} follows {address}")


@follows_group.command("remove")
@click.argument("user_id", callback=_user_id)
@click.argument("address", callback=_address)
@click.pass_obj
def follows_remove(state: _State, user_id: str, address: str) -> None:
    """USER_ID stops following ADDRESS."""
    with _transaction(state) as connection:
        wallets.remove_follow(connection, user_id, address)
    click.echo(f"{user_id} no longer follows {address}")


@follows_group.command("list")
@click.argument("user_id", required=False, callback=_user_id)
@click.pass_obj
def follows_list(state: _State, user_id: str | None) -> None:
    """List who follows which wallet (all users, or USER_ID's follows)."""
    with _database(state) as engine, reading(engine) as connection:
        rows = wallets.list_follows(connection, user_id)
    if user_id is not None and not rows:
        raise wallets.RegistryError(f"user {user_id!r} follows no wallets")
    width = _user_width([row.user_id for row in rows])
    click.echo(f"{'user':{width}}  {'wallet':42}  {'tier':8}  followed since")
    for row in rows:
        tier = "hot" if row.is_active else "inactive"
        click.echo(f"{row.user_id:{width}}  {row.wallet_address:42}  {tier:8}  {_fmt(row.followed_at)}")


# --- links ------------------------------------------------------------------------------------
@cli.group("links")
def links_group() -> None:
    """Users' linked wallets (the input of the daily integrations sync)."""


@links_group.command("add")
@click.argument("user_id", callback=_user_id)
@click.argument("address", callback=_address)
@click.option("--chain", type=CHAIN, default="polygon", show_default=True)
@click.pass_obj
def links_add(state: _State, user_id: str, address: str, chain: str) -> None:
    """Link ADDRESS to USER_ID."""
    with _transaction(state) as connection:
        created = wallets.add_link(connection, user_id, address, chain)
    click.echo(
        f"linked {address} ({chain}) to {user_id}"
        if created
        else f"{address} ({chain}) was already linked to {user_id}"
    )


@links_group.command("remove")
@click.argument("user_id", callback=_user_id)
@click.argument("address", callback=_address)
@click.option("--chain", type=CHAIN, default=None, help="Only the link on this chain (default: any chain).")
@click.pass_obj
def links_remove(state: _State, user_id: str, address: str, chain: str | None) -> None:
    """Unlink ADDRESS from USER_ID."""
    with _transaction(state) as connection:
        wallets.remove_link(connection, user_id, address, chain)
    click.echo(f"unlinked {address} from {user_id}")


@links_group.command("list")
@click.argument("user_id", required=False, callback=_user_id)
@click.pass_obj
def links_list(state: _State, user_id: str | None) -> None:
    """List users' linked wallets with their chain (all users, or USER_ID's links)."""
    with _database(state) as engine, reading(engine) as connection:
        rows = wallets.list_links(connection, user_id)
    if user_id is not None and not rows:
        raise wallets.RegistryError(f"user {user_id!r} has no linked wallets")
    width = _user_width([row.user_id for row in rows])
    click.echo(f"{'user':{width}}  {'chain':8}  {'address':42}  linked since")
    for row in rows:
        click.echo(f"{row.user_id:{width}}  {row.chain:8}  {row.address:42}  {_fmt(row.linked_at)}")


# --- simulator --------------------------------------------------------------------------------
class _ArgvError(argparse.ArgumentParser):
    """argparse reporting a problem as a click usage error (one line) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise click.UsageError(message)


def _simulator_config(base: SimulatorConfig, extra: Sequence[str]) -> SimulatorConfig:
    """``base`` plus the simulator options given in ``extra`` (``add_config_arguments``' flags).

    The CLI names the common options itself; every other option of
    ``python -m polymarket_pipeline.simulator`` passes through unchanged, so one the simulator
    adds (e.g. ``--state-file``) works here without a CLI change.
    """
    from polymarket_pipeline.simulator.server import add_config_arguments, config_from_args

    parser = _ArgvError(prog="polymarket-pipeline simulate", add_help=False)
    add_config_arguments(parser)
    defaults = dataclasses.asdict(config_from_args(parser.parse_args([])))
    given = dataclasses.asdict(config_from_args(parser.parse_args(list(extra))))
    changed = {name: value for name, value in given.items() if value != defaults[name]}
    return dataclasses.replace(base, **changed)


@cli.command(
    "simulate",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog="Other options of `python -m polymarket_pipeline.simulator` (e.g. --live-tps, "
    "--v1-offset-cap, --start-time, --state-file PATH where supported) pass through.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--wallets", "n_wallets", default=50, show_default=True, type=click.IntRange(1))
@click.option("--markets", "n_markets", default=40, show_default=True, type=click.IntRange(1))
@click.option("--history-days", default=30, show_default=True, type=click.IntRange(0))
@click.option("--trades-per-wallet", default=30, show_default=True, type=click.IntRange(0))
@click.option(
    "--live-rate",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0),
    help="New settlements per second generated while running.",
)
@click.option("--latency-ms", default=0, show_default=True, type=click.IntRange(0))
@click.option(
    "--enforce-limits/--no-enforce-limits",
    default=False,
    show_default=True,
    help="Answer 429 past Polymarket's published per-10s limits.",
)
@click.pass_context
def simulate(
    ctx: click.Context,
    host: str,
    port: int,
    seed: int,
    n_wallets: int,
    n_markets: int,
    history_days: int,
    trades_per_wallet: int,
    live_rate: float,
    latency_ms: int,
    enforce_limits: bool,
) -> None:
    """Run the local Polymarket API simulator until stopped."""
    from polymarket_pipeline.simulator.model import SimulatorConfig
    from polymarket_pipeline.simulator.server import export_lines, serve_forever

    base = SimulatorConfig(
        seed=seed,
        n_wallets=n_wallets,
        n_markets=n_markets,
        history_days=history_days,
        trades_per_wallet=trades_per_wallet,
        live_trades_per_second=live_rate,
        latency_ms=latency_ms,
        enforce_limits=enforce_limits,
    )
    sim_config = _simulator_config(base, ctx.args)

    def on_ready(base_url: str) -> None:
        for line in export_lines(base_url):
            click.echo(line)
        sys.stdout.flush()

    try:
        serve_forever(host, port, sim_config, on_ready=on_ready)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


# --- pnl ----------------------------------------------------------------------------------------
@cli.group("pnl")
def pnl_group() -> None:
    """Profit and loss from the stored ledger (kept current by pnl_job)."""


def _optional_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else _address(ctx, param, value)


@pnl_group.command("show")
@click.argument("address", required=False, callback=_optional_address)
@click.option(
    "--user", "user_id", default=None, callback=_user_id, help="A user's figures over their linked wallets."
)
@click.option("--top", default=10, show_default=True, type=click.IntRange(0, 1000), help="Positions listed.")
@click.pass_obj
def pnl_show(state: _State, address: str | None, user_id: str | None, top: int) -> None:
    """Print ADDRESS's (or --user USER's) figures and the positions that weigh most."""
    if (address is None) == (user_id is None):
        raise click.UsageError("give a wallet ADDRESS or --user USER_ID (one of them)")
    with _database(state) as engine:
        report = wallet_report(engine, address, top) if address else user_report(engine, str(user_id), top)
    for line in pnl_lines(report, user=user_id is not None):
        click.echo(line)


def _money(value: object) -> str:
    return "unknown" if value is None else f"{float(str(value)):,.2f}"


def _share(value: object) -> str:
    return "-" if value is None else f"{float(str(value)) * 100:.1f} %"


def pnl_lines(report: PnlReport, *, user: bool) -> list[str]:
    """The figures as lines: what each is, whether exact, how it compares with Polymarket's."""
    f = report.figures
    exact = "exact" if f.get("complete") else f"NOT exact: {f.get('incomplete_reason') or 'incomplete'}"
    subject = f"user {report.subject} ({len(report.wallets)} linked wallets)" if user else report.subject
    lines = [f"{subject}  [{exact}]  as of {_fmt(f.get('as_of'))}"]
    lines.append(
        f"  position PnL  {_money(f.get('position_pnl')):>14} USDC = realized "
        f"{_money(f.get('realized_pnl'))} + unrealized {_money(f.get('unrealized_pnl'))} - fees "
        f"{_money(f.get('fees_usdc'))}"
    )
    lines.append(
        f"  economic PnL  {_money(f.get('economic_pnl')):>14} USDC = position PnL + income "
        f"{_money(f.get('income_usdc'))} (rewards, rebates)"
    )
    lines.append(
        f"  volume        {_money(f.get('volume_usdc')):>14} USDC (notional) over {f.get('fills', 0)} fills"
    )
    if user:
        lines.append("  wallets       " + ", ".join(report.wallets))
    else:
        lines.append(
            f"  wins {f.get('wins', 0)}, losses {f.get('losses', 0)}, win rate {_share(f.get('win_rate'))}, "
            f"ROI {_share(f.get('roi'))}, max drawdown {_money(f.get('max_drawdown_usdc'))} USDC"
        )
        if f.get("official_checked_at") is not None:
            verdict = (
                "agrees" if f.get("official_agrees") else f"disagrees ({f.get('official_likely_cause')})"
            )
            lines.append(
                f"  Polymarket    {_money(f.get('official_position_pnl')):>14} USDC position PnL at "
                f"{_fmt(f.get('official_point_at'))}: delta {_money(f.get('official_delta_usdc'))}, {verdict}"
            )
    if report.top_positions:
        lines.append("  top positions (by |realized + unrealized|):")
    for p in report.top_positions:
        flag = "" if p.get("complete") else f"  [{p.get('incomplete_reason')}]"
        outcome = str(p.get("outcome") or "?")[:12]
        lines.append(
            f"    {p['status']:8} {outcome:12} shares {float(str(p['shares'])):>12,.2f}"
            f"  avg {float(str(p['avg_price'])):.4f}  realized {_money(p['realized_pnl']):>10}"
            f"  unrealized {_money(p.get('unrealized_pnl')):>10}  {p['asset'][:16]}...{flag}"
        )
    return lines


# --- integrations -----------------------------------------------------------------------------
def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _sync_day(requested: date | None, settings: Settings) -> date:
    """The day to sync: a partition that exists (from POLYMARKET_INTEGRATIONS_START to today, UTC)."""
    today = datetime.now(UTC).date()
    day = requested or today
    if day > today:
        raise click.BadParameter(
            f"{day.isoformat()} is in the future: the latest day that can be synced is today "
            f"({today.isoformat()}, UTC)",
            param_hint="'--date'",
        )
    if day < settings.integrations_start:
        raise click.BadParameter(
            f"{day.isoformat()} is before the first integrations partition "
            f"{settings.integrations_start.isoformat()} (POLYMARKET_INTEGRATIONS_START)",
            param_hint="'--date'",
        )
    return day


@contextmanager
def _dagster_instance(settings: Settings) -> Iterator[tuple[dg.DagsterInstance, str]]:
    """The Dagster instance at ``DAGSTER_HOME`` (environment or .env), else an ephemeral one."""
    import dagster as dg

    home = settings.dagster_home
    if home is None:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance, "an ephemeral Dagster instance (no DAGSTER_HOME: the run is not kept)"
        return
    if not home.is_dir():
        raise SettingsError(f"DAGSTER_HOME: {home} is not a directory")
    os.environ["DAGSTER_HOME"] = str(home)  # DagsterInstance.get() reads it; a .env value counts too
    with dg.DagsterInstance.get() as instance:
        yield instance, f"the Dagster instance at {home}"


def _first_error_line(result: Any) -> str:
    """The failing step's error, without the exception's module path."""
    failure = next((e for e in result.all_events if e.is_step_failure), None)
    error = failure.step_failure_data.error if failure and failure.step_failure_data else None
    if error is None:
        return "the integrations run failed"
    message = error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name or ""
    head, _, rest = message.partition(": ")
    return rest if rest and "." in head and " " not in head else message


def _run_metadata(instance: dg.DagsterInstance, run_id: str) -> dict[str, Any]:
    """The sync's metadata as the run recorded it (what the UI shows on external_positions_raw)."""
    import dagster as dg

    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is not None and "users_succeeded" in materialization.metadata:
            return {key: value.value for key, value in materialization.metadata.items()}
    raise RuntimeError(f"run {run_id} succeeded but recorded no integrations summary")


@cli.group("integrations")
def integrations_group() -> None:
    """The daily sync of users' linked wallets into external_markets."""


@integrations_group.command("run")
@click.option("--date", "sync_date", callback=_parse_date, help="UTC day to sync (default: today).")
@click.option("--force", is_flag=True, help="Re-sync users already synced that day.")
@click.option("--verbose", "-v", is_flag=True, help="Print the run's log on stderr.")
@click.pass_obj
def integrations_run(state: _State, sync_date: date | None, force: bool, verbose: bool) -> None:
    """Run integrations_job once, in-process, and print its summary (exit 1 if a user failed).

    The run is recorded in the Dagster instance at DAGSTER_HOME (from the environment or .env),
    so the UI shows it like a scheduled one.
    """
    settings = state.settings
    day = _sync_day(sync_date, settings)
    if verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    else:  # the summary reports every failed user; keep library warnings off the terminal
        logging.getLogger().addHandler(logging.NullHandler())
    with _database(state):  # fail early, in one line, on a missing schema or database
        pass
    with warnings.catch_warnings():  # Dagster's beta/preview notices are for developers, not here
        warnings.filterwarnings("ignore", message=".*(beta|preview).*")
        from polymarket_pipeline.definitions import build_definitions
        from polymarket_pipeline.defs.environment import resources_from_settings
        from polymarket_pipeline.defs.integrations.assets import integrations_job
        from polymarket_pipeline.defs.tags import LAUNCHED_BY_TAG
    from polymarket_pipeline.sync.integrations import report_lines

    # The database resource reads the URL from this variable inside the run (an EnvVar), so a
    # password never enters the run's stored config or snapshot.
    os.environ[DATABASE_URL_VARIABLE] = state.database_url
    job = build_definitions(resources_from_settings(settings)).resolve_job_def(integrations_job.name)
    with _dagster_instance(settings) as (instance, where):
        click.echo(f"integrations_job for {day.isoformat()} on {where}")
        click.echo(f"  Data API {settings.data_api_url} ({settings.data_api_version})")
        click.echo(f"  database {mask_database_url(state.database_url)}")
        result = job.execute_in_process(
            partition_key=day.isoformat(),
            run_config={
                "ops": {"integrations": {"config": {"force": force}}},
                "loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "CRITICAL"}}},
            },
            instance=instance,
            raise_on_error=False,
            tags={LAUNCHED_BY_TAG: "cli"},
        )
        click.echo(f"  run {result.run_id}: {'success' if result.success else 'failure'}")
        if not result.success:
            fail(_first_error_line(result))
        metadata = _run_metadata(instance, result.run_id)
    failures: dict[str, str] = dict(metadata.get("failed_users") or {})
    for line in report_lines(metadata, failures):
        click.echo(line)
    if failures:
        sys.exit(EXIT_FAILURE)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="polymarket-pipeline")


if __name__ == "__main__":  # pragma: no cover
    main()
