"""The replay's view of the market cache, and what a replay depends on of each market (its fingerprint)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from polymarket_pipeline.db.pnl import MarketRow
from polymarket_pipeline.domain.pnl import MarketInfo, payouts_for_winner

# --- markets -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownMarket:
    info: MarketInfo
    outcomes: tuple[str, ...]
    resolved_at: datetime | None


def known_markets(rows: Iterable[MarketRow]) -> dict[str, KnownMarket]:
    """The replay's view of the market cache: tokens, payouts of resolved markets (1 for the
    winner, 0 for the others) and, for neg-risk markets, the cached markets of the same event."""
    rows = list(rows)
    members: dict[str, list[str]] = {}
    for r in rows:
        if r.neg_risk and r.event_id:
            members.setdefault(r.event_id, []).append(r.condition_id)
    out: dict[str, KnownMarket] = {}
    for r in rows:
        payouts = None
        if r.resolved and r.winner_asset and r.winner_asset in r.token_ids:
            payouts = payouts_for_winner(r.token_ids, r.winner_asset)
        group = tuple(sorted(members[r.event_id])) if r.neg_risk and r.event_id else None
        out[r.condition_id] = KnownMarket(
            MarketInfo(r.condition_id, r.token_ids, payouts, group), r.outcomes, r.resolved_at
        )
    return out


def fingerprint(info: MarketInfo) -> str:
    """What a replay depends on of one market, hashed: a change replays its holders' positions."""
    payload = [
        list(info.token_ids),
        None if info.payouts is None else [str(p) for p in info.payouts],
        None if info.neg_risk_members is None else list(info.neg_risk_members),
    ]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()
