"""Register the simulator's wallets for a demo: a few followed (hot), the rest cold, plus linked users."""

from __future__ import annotations

import sys

from polymarket_pipeline import config
from polymarket_pipeline.db import wallets
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.simulator.server import SimulatorAdmin

HOT = 5
USERS = 3


def main(simulator_url: str) -> None:
    addresses = SimulatorAdmin(simulator_url).wallets()
    engine = create_db_engine(config.database_url())
    with engine.begin() as connection:
        wallets.register_wallets(connection, addresses)
        for address in addresses[:HOT]:
            wallets.add_follow(connection, "demo-follower", address)
        for i, address in enumerate(addresses[HOT : HOT + 2 * USERS]):
            wallets.add_link(connection, f"demo-user-{i % USERS + 1}", address)
    engine.dispose()
    print(f"registered {len(addresses)} simulator wallets ({HOT} hot), linked {2 * USERS} to {USERS} users")


if __name__ == "__main__":
    main(sys.argv[1])
