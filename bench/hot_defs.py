"""A code location for ``bench/hot_latency.py`` only: the package's definitions with hot-path overrides.

``dagster dev -f bench/hot_defs.py`` loads exactly ``polymarket_pipeline.definitions.build_definitions``
with the resources ``defs/environment.py`` builds from the environment, except that the
``polymarket`` resource's hot-path fields named in ``BENCH_HOT_OVERRIDES`` (a JSON object, e.g.
``{"hot_window_seconds": 4.5}``) replace their defaults. It shows what a changed default would do
without editing the package; without overrides the benchmark loads ``polymarket_pipeline.definitions``.
"""

from __future__ import annotations

import json
import os

from polymarket_pipeline.definitions import build_definitions
from polymarket_pipeline.defs.environment import resources_from_env
from polymarket_pipeline.defs.resources import PolymarketApiResource

ALLOWED = {"hot_window_seconds", "hot_cycle_seconds", "hot_verify_rate", "hot_report_seconds"}


def _resources() -> dict[str, object]:
    resources = resources_from_env()
    overrides = json.loads(os.environ.get("BENCH_HOT_OVERRIDES") or "{}")
    unknown = set(overrides) - ALLOWED
    if unknown:
        raise ValueError(
            f"BENCH_HOT_OVERRIDES: unknown fields {sorted(unknown)} (allowed: {sorted(ALLOWED)})"
        )
    polymarket = resources["polymarket"]
    assert isinstance(polymarket, PolymarketApiResource)
    resources["polymarket"] = PolymarketApiResource(**{**polymarket.model_dump(), **overrides})
    return resources


defs = build_definitions(_resources())
