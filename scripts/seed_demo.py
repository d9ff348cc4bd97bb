"""Demo wallets from the simulator: register them, warn when they outlive the simulator, remove them.

``seed_demo.py SIMULATOR_URL`` registers the simulator's wallets (a few followed = hot, the rest
cold, plus users with linked wallets) and records which ones it registered in ``sync_runs``
(kind ``demo_seed``), so a later ``scripts/dev.sh`` with ``POLYMARKET_SIMULATOR=off`` can tell
them apart from wallets an operator added: ``--check`` prints a warning when some are still
active (they would be polled against the real API), ``--remove`` deactivates them and drops the
demo follows and links. The database is the one the settings name (environment, .env, default).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from polymarket_pipeline.db import wallets
from polymarket_pipeline.db.engine import create_db_engine, reading
from polymarket_pipeline.db.schema import Follow, SyncRun, WalletLink, WalletPollState, table_of
from polymarket_pipeline.settings import load_settings, mask_database_url

HOT = 5
USERS = 3
FOLLOWER = "demo-follower"
KIND = "demo_seed"
SEED_ID = "demo-seed"
"""One ``sync_runs`` row (this id) lists every wallet a demo seed ever registered in this database."""

_runs = table_of(SyncRun)
_state = table_of(WalletPollState)
_follows = table_of(Follow)
_links = table_of(WalletLink)


def demo_users() -> list[str]:
    return [f"demo-user-{i + 1}" for i in range(USERS)]


def recorded_demo_wallets(connection: Connection) -> list[str]:
    """Every wallet a demo seed registered in this database (oldest seed first, no repeats)."""
    rows = connection.execute(select(_runs.c.stats).where(_runs.c.kind == KIND).order_by(_runs.c.started_at))
    found: dict[str, None] = {}
    for (stats,) in rows:
        found.update(dict.fromkeys((stats or {}).get("wallets", [])))
    return list(found)


def _record(connection: Connection, addresses: list[str], simulator_url: str) -> None:
    known = recorded_demo_wallets(connection)
    now = datetime.now(UTC)
    stats: dict[str, Any] = {
        "wallets": list(dict.fromkeys([*known, *addresses])),
        "simulator_url": simulator_url,
        "follower": FOLLOWER,
        "users": demo_users(),
    }
    connection.execute(delete(_runs).where(_runs.c.id == SEED_ID))
    connection.execute(
        insert(_runs).values(
            id=SEED_ID, kind=KIND, started_at=now, finished_at=now, status="succeeded", stats=stats
        )
    )


def seed(simulator_url: str) -> str:
    from polymarket_pipeline.simulator.server import SimulatorAdmin

    addresses = SimulatorAdmin(simulator_url).wallets()
    engine = create_db_engine(load_settings().app_database_url)
    try:
        with engine.begin() as connection:
            wallets.register_wallets(connection, addresses)
            for address in addresses[:HOT]:
                wallets.add_follow(connection, FOLLOWER, address)
            for i, address in enumerate(addresses[HOT : HOT + 2 * USERS]):
                wallets.add_link(connection, demo_users()[i % USERS], address)
            _record(connection, addresses, simulator_url)
    finally:
        engine.dispose()
    return f"registered {len(addresses)} simulator wallets ({HOT} hot), linked {2 * USERS} to {USERS} users"


def active_demo_wallets() -> list[str]:
    """Demo wallets that are still registered and active (polled by the sensor and sweeps)."""
    engine = create_db_engine(load_settings().app_database_url)
    try:
        with reading(engine) as connection:
            demo = set(recorded_demo_wallets(connection))
            active = wallets.active_wallets(connection)
    finally:
        engine.dispose()
    return [address for address in active if address in demo]


def check() -> str | None:
    """The warning to print when the simulator is off but its demo wallets are still polled."""
    active = active_demo_wallets()
    if not active:
        return None
    url = mask_database_url(load_settings().app_database_url)
    return (
        f"warning: {len(active)} demo wallets from the simulator are still active in {url}; with "
        "the simulator off they are polled against the real Polymarket API. Run "
        "`python scripts/seed_demo.py --remove` to deactivate them (and drop the demo follows and "
        "links), or use another POLYMARKET_DATA_DIR / POLYMARKET_DATABASE_URL."
    )


def remove() -> str:
    """Deactivate every demo wallet and drop the demo follows and links (history is kept)."""
    engine = create_db_engine(load_settings().app_database_url)
    try:
        with engine.begin() as connection:
            demo = recorded_demo_wallets(connection)
            for address in set(demo) & set(wallets.active_wallets(connection)):
                wallets.deactivate_wallet(connection, address)
            connection.execute(delete(_follows).where(_follows.c.user_id == FOLLOWER))
            connection.execute(delete(_links).where(_links.c.user_id.in_(demo_users())))
    finally:
        engine.dispose()
    return f"deactivated the demo wallets ({len(demo)} recorded) and removed the demo follows and links"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("simulator_url", nargs="?", help="register the wallets of this simulator")
    group.add_argument("--check", action="store_true", help="warn if demo wallets are still active")
    group.add_argument("--remove", action="store_true", help="deactivate the demo wallets")
    args = parser.parse_args(argv)
    if args.check:
        warning = check()
        if warning:
            print(warning, file=sys.stderr)
        return 0
    print(remove() if args.remove else seed(args.simulator_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
