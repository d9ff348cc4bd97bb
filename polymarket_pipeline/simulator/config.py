"""Everything that shapes a simulator run, in one dataclass (the CLI and the subprocess map it to flags).

Two kinds of fields: those that shape the seeded data (seed, sizes, fidelity knobs) and those that
only shape how it is served (latency, limits, the edge cache, page sizes). A state file records the
first kind and refuses to be replayed under different values (see ``journal``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

DAY = 86_400
UNIT = 1_000_000
"""Share amounts are integer micro-shares (the API prints up to 6 decimals, e.g. ``714.285713``)."""

DEFAULT_EDGE_CACHE_ROUTES = ("/trades", "/v2/trades")
"""Where Cloudflare was measured caching identical URLs (scoped and unscoped), Data API templates."""


@dataclass
class SimulatorConfig:
    """Everything that shapes a simulator run; the same config (and start_time) gives the same data."""

    seed: int = 1
    n_markets: int = 20
    """Current markets (standalone binaries plus the neg-risk events' members); legacy ones come extra."""
    n_wallets: int = 50
    history_days: int = 30
    trades_per_wallet: int = 20
    """Taker settlements per wallet in the generated history (each wallet also gets maker legs)."""
    live_trades_per_second: float = 0.0
    """Settlements per second while running (each is a taker row plus 1-3 maker rows, ~3 rows)."""
    live_events_per_minute: float = 0.0
    """Resolutions, redeems, splits, merges, archives and conversions a minute while running (``live``)."""
    live_event_wallets: int = 0
    """Live events act on the first N wallets only (0 = any): the demo's followed ones."""
    enforce_limits: bool = False
    v1_offset_cap: int = 3000
    """v1 ``/trades``: offsets above this are a 400 (observed; the spec says 10,000)."""
    v1_max_page: int = 1000
    v1_positions_offset_cap: int = 10_000
    v1_activity_offset_cap: int = 5_000
    """v1 ``/activity``: offsets above 5,000 are a 400 (measured 2026-08-18)."""
    v1_trades_repeat_offset: int = 0
    """0 = off; otherwise v1 ``/trades`` past this offset keeps serving the page at this offset."""
    latency_ms: float = 0.0
    start_time: int | None = None
    """Epoch seconds where the generated history ends; None = now (a state file keeps the first one)."""
    resolved_fraction: float = 0.25
    archived_fraction: float = 0.4
    """Share of the resolved markets that are also archived during the history."""
    redeem_probability: float = 0.5
    duplicate_leg_probability: float = 0.05
    many_makers_probability: float = 0.02
    """Share of settlements with 4-17 maker legs (live: up to 18 wallet rows per transaction)."""
    legacy_markets: int = 3
    """Markets of 2022-23, resolved long ago, with a Gamma ``category`` and no UMA status."""
    legacy_winnerless_fraction: float = 0.75
    """Legacy resolutions with no ``winner: true`` token (74 of 98 real 2022-23 markets)."""
    winnerless_fraction: float = 0.0
    """Share of in-window resolutions that also omit the winner flag (prices still 1/0)."""
    neg_risk_events: int = 1
    """Multi-outcome events of 3-4 neg-risk markets, carved out of ``n_markets``."""
    feed_degraded_fraction: float = 1.0
    """Share of fills the unscoped feed serves with outcome index 999 and an empty event slug."""
    price_tail_probability: float = 0.2
    """Share of fills whose price carries a float tail (``0.4899999951``)."""
    fee_market_fraction: float = 0.5
    """Share of markets charging a taker fee (activity ``usdcSize`` then differs from size x price)."""
    rewards_per_wallet: float = 1.0
    """Expected REWARD / MAKER_REBATE / TAKER_REBATE rows per wallet in the history."""
    ctf_ops_per_wallet: float = 0.5
    """Expected SPLIT / MERGE / CONVERSION operations per wallet in the history."""
    heavy_wallet_settlements: int = 0
    """Extra taker settlements of the first wallet in the history: one wallet with more fills than
    a walk reads (a market maker's history: 250,000 gives it over 250,000 fills)."""
    clob_page_size: int = 1000
    gamma_default_limit: int = 20
    gamma_max_limit: int = 500
    request_log_size: int = 100_000
    rate_limits: dict[str, int] | None = None
    """Overrides of the published 10 s limits, keyed like ``limits.DEFAULT_LIMITS``."""
    rate_window_seconds: float = 10.0
    edge_cache_seconds: float = 300.0
    """Cloudflare's cache: an identical URL gets its earlier body this long (0 = off)."""
    edge_cache_routes: tuple[str, ...] = DEFAULT_EDGE_CACHE_ROUTES
    state_file: str | None = None
    """Where the live state is journaled, so a restart serves the same positions (None = none)."""


SERVING_FIELDS = frozenset(
    {
        "live_trades_per_second",
        "live_events_per_minute",
        "live_event_wallets",
        "enforce_limits",
        "v1_offset_cap",
        "v1_max_page",
        "v1_positions_offset_cap",
        "v1_activity_offset_cap",
        "v1_trades_repeat_offset",
        "latency_ms",
        "start_time",
        "clob_page_size",
        "gamma_default_limit",
        "gamma_max_limit",
        "request_log_size",
        "rate_limits",
        "rate_window_seconds",
        "edge_cache_seconds",
        "edge_cache_routes",
        "state_file",
    }
)
"""Fields that change how data is served, not what it is (start_time is checked on its own)."""


def default_of(name: str) -> Any:
    """A field's default (a state file written before the field existed was made under it)."""
    return next(f.default for f in dataclasses.fields(SimulatorConfig) if f.name == name)


def data_fields(config: SimulatorConfig) -> dict[str, Any]:
    """The fields that determine the generated data, as JSON-friendly values."""
    return {
        f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name not in SERVING_FIELDS
    }
