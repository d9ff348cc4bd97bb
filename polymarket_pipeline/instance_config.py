"""Derive the local ``dagster dev`` instance config from the production ``dagster.yaml``.

Concurrency limits, sensor threads, tick retention and run monitoring are declared once, in the
repository's ``dagster.yaml``; local development keeps them but drops the PostgreSQL storage and
the container launcher, so ``dagster dev`` runs on Dagster's embedded SQLite with no server.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

PRODUCTION_ONLY = ("storage", "run_storage", "event_log_storage", "schedule_storage", "run_launcher")


def local_instance_config(production: dict[str, Any]) -> dict[str, Any]:
    local = {key: value for key, value in production.items() if key not in PRODUCTION_ONLY}
    # Dequeue every second locally: a queued run starts ~2 s sooner (dagster_notes: 2.6 s vs 4.8 s).
    local["run_coordinator"] = {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator",
        "config": {"dequeue_interval_seconds": 1},
    }
    return local


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else Path("dagster.yaml")
    production = yaml.safe_load(source.read_text())
    sys.stdout.write(yaml.safe_dump(local_instance_config(production), sort_keys=False))


if __name__ == "__main__":
    main(sys.argv)
