"""The ``polymarket-pipeline`` command: schema, wallet registry, integrations and the simulator.

Every command validates its input before it touches the database, and reports a problem as one
line on stderr with a non-zero exit, so a typo never writes half a change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from polymarket_pipeline import config
from polymarket_pipeline.db import migrate, wallets
from polymarket_pipeline.db.engine import DatabaseConfigError, create_db_engine, reading
from polymarket_pipeline.domain.addresses import InvalidAddressError, normalize_address

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _address(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return normalize_address(value)
    except InvalidAddressError as exc:
        raise click.BadParameter(str(exc)) from None


def _user_id(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    value = value.strip()
    if not value or len(value) > 255:
        raise click.BadParameter("user id must be 1 to 255 characters")
    return value


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid URL>"


@contextmanager
def _database(ctx: click.Context, *, require_schema: bool = True) -> Iterator[Engine]:
    url: str = ctx.obj["database_url"]
    try:
        engine = create_db_engine(url)
    except DatabaseConfigError as exc:
        fail(str(exc))
    try:
        if require_schema:
            migrate.ensure_current(engine)
        yield engine
    except migrate.SchemaNotCurrentError as exc:
        fail(str(exc))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        fail(f"cannot use the application database {_safe_url(url)}: {reason}")
    except SQLAlchemyError as exc:
        fail(f"database error on {_safe_url(url)}: {type(exc).__name__}")
    finally:
        engine.dispose()


@contextmanager
def _transaction(ctx: click.Context) -> Iterator[Connection]:
    with _database(ctx) as engine, engine.begin() as connection:
        try:
            yield connection
        except wallets.RegistryError as exc:
            connection.rollback()
            fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="POLYMARKET_DATABASE_URL",
    default=None,
    show_envvar=True,
    help="Application database (default: a SQLite file in ./data).",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Keep Polymarket traders' trades and positions, and users' linked wallets, up to date."""
    ctx.ensure_object(dict)
    ctx.obj["database_url"] = database_url or config.default_database_url()


# --- db ---------------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Application schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or migrate the application schema (idempotent)."""
    with _database(ctx, require_schema=False) as engine:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
    if before == after:
        click.echo(f"schema already at {after}")
    else:
        click.echo(f"schema upgraded {before or '(empty)'} -> {after}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the schema revision and the revision this code expects."""
    with _database(ctx, require_schema=False) as engine:
        click.echo(f"current: {migrate.current_revision(engine) or '(empty)'}")
        click.echo(f"head:    {migrate.head_revision()}")


# --- wallets ----------------------------------------------------------------------------------
@cli.group("wallets")
def wallets_group() -> None:
    """Registered wallets (the rows of wallet_poll_state)."""


@wallets_group.command("add")
@click.argument("address", callback=_address)
@click.option("--hot/--no-hot", default=None, help="Pin as hot (polled every few seconds), or unpin.")
@click.pass_context
def wallets_add(ctx: click.Context, address: str, hot: bool | None) -> None:
    """Register (or reactivate) a wallet."""
    with _transaction(ctx) as connection:
        wallets.register_wallets(connection, [address], hot=hot)
    click.echo(f"registered {address}" + (" (hot)" if hot else ""))


@wallets_group.command("remove")
@click.argument("address", callback=_address)
@click.pass_context
def wallets_remove(ctx: click.Context, address: str) -> None:
    """Stop polling a wallet; its stored history is kept."""
    with _transaction(ctx) as connection:
        wallets.deactivate_wallet(connection, address)
    click.echo(f"deactivated {address}")


@wallets_group.command("list")
@click.pass_context
def wallets_list(ctx: click.Context) -> None:
    """List registered wallets with their tier and polling state."""
    with _database(ctx) as engine, reading(engine) as connection:
        rows = wallets.list_wallets(connection)
    click.echo(f"{'address':42}  {'tier':8}  {'followers':>9}  {'last trade':25}  {'last polled':25}  error")
    for row in rows:
        click.echo(
            f"{row.wallet_address:42}  {row.tier:8}  {row.followers:>9}  "
            f"{_fmt(row.last_trade_time_seen):25}  {_fmt(row.last_polled_at):25}  {row.last_error or ''}"
        )


def _fmt(value: object) -> str:
    return "-" if value is None else str(value)


# --- follows ----------------------------------------------------------------------------------
@cli.group("follows")
def follows_group() -> None:
    """Users following traders (followed wallets are hot)."""


@follows_group.command("add")
@click.argument("user_id", callback=_user_id)
@click.argument("address", callback=_address)
@click.pass_context
def follows_add(ctx: click.Context, user_id: str, address: str) -> None:
    """USER_ID follows ADDRESS (registers the wallet too)."""
    with _transaction(ctx) as connection:
        wallets.add_follow(connection, user_id, address)
    click.echo(f"{user_id} follows {address}")


@follows_group.command("remove")
@click.argument("user_id", callback=_user_id)
@click.argument("address", callback=_address)
@click.pass_context
def follows_remove(ctx: click.Context, user_id: str, address: str) -> None:
    """USER_ID stops following ADDRESS."""
    with _transaction(ctx) as connection:
        wallets.remove_follow(connection, user_id, address)
    click.echo(f"{user_id} no longer follows {address}")


# --- links ------------------------------------------------------------------------------------
@cli.group("links")
def links_group() -> None:
    """Users' linked wallets (the input of the daily integrations sync)."""


@links_group.command("add")
@click.argument("user_id", callback=_user_id)
@click.argument("address", callback=_address)
@click.option("--chain", default="polygon", show_default=True)
@click.pass_context
def links_add(ctx: click.Context, user_id: str, address: str, chain: str) -> None:
    """Link ADDRESS to USER_ID."""
    with _transaction(ctx) as connection:
        created = wallets.add_link(connection, user_id, address, chain)
    click.echo(f"linked {address} to {user_id}" if created else f"{address} was already linked to {user_id}")


@links_group.command("remove")
@click.argument("user_id", callback=_user_id)
@click.argument("address", callback=_address)
@click.option("--chain", default=None, help="Only the link on this chain (default: any chain).")
@click.pass_context
def links_remove(ctx: click.Context, user_id: str, address: str, chain: str | None) -> None:
    """Unlink ADDRESS from USER_ID."""
    with _transaction(ctx) as connection:
        wallets.remove_link(connection, user_id, address, chain)
    click.echo(f"unlinked {address} from {user_id}")


@links_group.command("list")
@click.pass_context
def links_list(ctx: click.Context) -> None:
    """List users and their linked wallets."""
    with _database(ctx) as engine, reading(engine) as connection:
        for user_id, addresses in wallets.links_by_user(connection).items():
            click.echo(f"{user_id}: {', '.join(addresses)}")


# --- simulator --------------------------------------------------------------------------------
@cli.command("simulate")
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
def simulate(
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

    sim_config = SimulatorConfig(
        seed=seed,
        n_wallets=n_wallets,
        n_markets=n_markets,
        history_days=history_days,
        trades_per_wallet=trades_per_wallet,
        live_trades_per_second=live_rate,
        latency_ms=latency_ms,
        enforce_limits=enforce_limits,
    )

    def on_ready(base_url: str) -> None:
        for line in export_lines(base_url):
            click.echo(line)
        sys.stdout.flush()

    try:
        serve_forever(host, port, sim_config, on_ready=on_ready)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


# --- integrations -----------------------------------------------------------------------------
@cli.group("integrations")
def integrations_group() -> None:
    """The daily sync of users' linked wallets into external_markets."""


@integrations_group.command("run")
@click.option("--date", "sync_date", callback=_parse_date, help="UTC day to sync (default: today).")
@click.option("--force", is_flag=True, help="Re-sync users already synced that day.")
@click.pass_context
def integrations_run(ctx: click.Context, sync_date: date | None, force: bool) -> None:
    """Run integrations_job once, in-process, and print its summary (exit 1 if a user failed)."""
    import os
    from datetime import UTC, datetime

    import dagster as dg

    from polymarket_pipeline.sync.integrations import report_lines

    day = (sync_date or datetime.now(UTC).date()).isoformat()
    with _database(ctx):  # fail early, in one line, on a missing schema or database
        pass
    os.environ["POLYMARKET_DATABASE_URL"] = ctx.obj["database_url"]
    from polymarket_pipeline.definitions import defs

    job = defs.resolve_job_def("integrations_job")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    with instance:
        result = job.execute_in_process(
            partition_key=day,
            run_config={"ops": {"integrations": {"config": {"force": force}}}},
            instance=instance,
            raise_on_error=False,
        )
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        error = failure.step_failure_data.error if failure and failure.step_failure_data else None
        message = error.message.strip().splitlines()[0] if error else "the integrations run failed"
        fail(message.removeprefix("dagster._core.definitions.events.Failure: "))
    materialization = next(
        m
        for m in result.asset_materializations_for_node("integrations")
        if m.asset_key == dg.AssetKey("external_positions_raw")
    )
    metadata: dict[str, Any] = {key: value.value for key, value in materialization.metadata.items()}
    failures: dict[str, str] = dict(metadata.get("failed_users") or {})
    for line in report_lines(metadata, failures):
        click.echo(line)
    if failures:
        sys.exit(EXIT_FAILURE)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: usage errors become one ``error:`` line and exit status 2."""
    try:
        cli.main(args=argv, prog_name="polymarket-pipeline", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        fail(exc.format_message() + hint, EXIT_USAGE)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        fail("aborted", EXIT_FAILURE)


if __name__ == "__main__":  # pragma: no cover
    main()
