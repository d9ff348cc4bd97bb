"""The check against Polymarket's own figures: the latest official point per wallet, and the API's
per-position ``avg_price`` / ``realized_pnl``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from polymarket_pipeline.db import pnl as store
from polymarket_pipeline.db import pnl_reads
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.domain.performance import (
    AgreementCounts,
    LikelyCause,
    OfficialPoint,
    WalletPerformance,
    _ratio,
    agreement_counts,
    compare_position,
    compare_wallet,
)
from polymarket_pipeline.domain.pnl import ZERO
from polymarket_pipeline.sync.pnl.totals import MAX_LISTED, PositionDisagreement, utc

# --- the check against Polymarket's own figures ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalletDisagreement:
    wallet: str
    point_at: datetime
    realized_pnl: Decimal
    official_realized_pnl: Decimal | None
    realized_delta: Decimal | None
    position_pnl: Decimal | None
    official_position_pnl: Decimal | None
    position_delta: Decimal | None
    complete: bool
    likely_cause: LikelyCause | None


@dataclass(frozen=True, slots=True)
class AgreementReport:
    """How our figures compare with Polymarket's (what the ``pnl_matches_polymarket`` check reports)."""

    checked_at: datetime
    wallets: AgreementCounts
    """Over wallets with an official point; only complete ledgers are compared."""
    wallet_share: Decimal | None
    """Share of compared wallets in agreement (None when none was compared)."""
    disagreements: list[WalletDisagreement]
    """Every compared wallet that disagrees, largest position delta first."""
    likely_causes: dict[str, int]
    wallets_without_figures: list[str]
    """Wallets with official points but no ``trader_stats`` row yet."""
    wallets_moved_since_point: list[str]
    """Wallets whose ledger has events after their latest official point: the two describe
    different ledgers, so they are not compared until the next official read."""
    positions_compared: int
    """Positions of complete ledgers with API figures."""
    positions_agreeing: int
    positions_incomplete_excluded: int
    position_share: Decimal | None
    position_disagreements: list[PositionDisagreement]
    """Up to ``MAX_LISTED``, complete ledgers only, largest realized delta first."""


def _official_point(row: Mapping[str, Any]) -> OfficialPoint:
    return OfficialPoint(
        realized_pnl=row["realized_pnl"],
        unrealized_pnl=row["unrealized_pnl"],
        position_pnl=row["position_pnl"],
        fees_paid=row["fees_paid"],
        wallet_income=row["wallet_income"],
        trade_pnl=row["trade_pnl"],
    )


def _performance_of_row(row: Mapping[str, Any]) -> WalletPerformance:
    def epoch(value: datetime | None) -> int | None:
        return None if value is None else int(value.timestamp())

    return WalletPerformance(
        realized_pnl=row["realized_pnl"],
        unrealized_pnl=row["unrealized_pnl"],
        unrealized_complete=row["unrealized_complete"],
        trade_pnl=row["trade_pnl"],
        fees_usdc=row["fees_usdc"],
        position_pnl=row["position_pnl"],
        income_usdc=row["income_usdc"],
        economic_pnl=row["economic_pnl"],
        volume_usdc=row["volume_usdc"],
        fills=row["fills"],
        markets=row["markets"],
        wins=row["wins"],
        losses=row["losses"],
        win_rate=row["win_rate"],
        roi=row["roi"],
        max_drawdown_usdc=row["max_drawdown_usdc"],
        first_fill_at=epoch(row["first_fill_at"]),
        last_fill_at=epoch(row["last_fill_at"]),
        complete=row["complete"],
        incomplete_reason=row["incomplete_reason"],
        conversions=row["conversions"],
        ignored_types={},
    )


def _abs_or_zero(value: Decimal | None) -> Decimal:
    return abs(value) if value is not None else ZERO


def pnl_agreement(engine: Engine, *, now: datetime) -> AgreementReport:
    """Compare each wallet's figures with its latest official point, and each position with the API's
    own ``avg_price`` / ``realized_pnl``; the verdicts are written to ``trader_stats``."""
    now = utc(now)
    with reading(engine) as conn:
        official = store.latest_official(conn)
        stats = store.trader_stats(conn, sorted(official)) if official else {}
        last_events = pnl_reads.last_events(conn, sorted(official)) if official else {}
        positions = list(store.position_wallets(conn, with_api_figures=True))
        ledgers = store.trader_stats(conn, sorted({wallet for wallet, _ in positions}))
    verdicts = []
    disagreements: list[WalletDisagreement] = []
    missing: list[str] = []
    moved: list[str] = []
    updates = []
    for wallet, point_row in sorted(official.items()):
        row = stats.get(wallet)
        if row is None:
            missing.append(wallet)
            continue
        last = last_events.get(wallet)
        if last is not None and last > utc(point_row["timestamp"]):
            moved.append(wallet)
            updates.append(  # an earlier verdict no longer describes this ledger
                {
                    "wallet_address": wallet,
                    "official_realized_pnl": _official_point(point_row).realized_pnl,
                    "official_position_pnl": _official_point(point_row).position_pnl,
                    "official_delta_usdc": None,
                    "official_realized_delta_usdc": None,
                    "official_agrees": None,
                    "official_likely_cause": "moved_since_point",
                    "official_point_at": point_row["timestamp"],
                    "official_checked_at": now,
                }
            )
            continue
        point = _official_point(point_row)
        verdict = compare_wallet(_performance_of_row(row), point)
        verdicts.append(verdict)
        updates.append(
            {
                "wallet_address": wallet,
                "official_realized_pnl": point.realized_pnl,
                "official_position_pnl": point.position_pnl,
                "official_delta_usdc": verdict.position_delta,
                "official_realized_delta_usdc": verdict.realized_delta,
                "official_agrees": verdict.agrees,
                "official_likely_cause": verdict.likely_cause,
                "official_point_at": point_row["timestamp"],
                "official_checked_at": now,
            }
        )
        if verdict.agrees is False and verdict.complete:
            disagreements.append(
                WalletDisagreement(
                    wallet,
                    point_row["timestamp"],
                    row["realized_pnl"],
                    point.realized_pnl,
                    verdict.realized_delta,
                    row["position_pnl"],
                    point.position_pnl,
                    verdict.position_delta,
                    verdict.complete,
                    verdict.likely_cause,
                )
            )
    with engine.begin() as conn:
        store.write_official_verdicts(conn, updates)
    counts = agreement_counts(verdicts)
    compared = agreeing = excluded = 0
    position_disagreements: list[PositionDisagreement] = []
    for wallet, p in positions:
        comparison = compare_position(p.figures, p.api_avg_price, p.api_realized_pnl)
        ledger = ledgers.get(wallet)
        # a position of an incomplete ledger is never counted as exact, even where its own replay
        # saw nothing wrong (a conversion with unknown legs moves tokens the replay cannot name)
        if not p.figures.complete or (ledger is not None and not ledger["complete"]):
            excluded += 1
            continue
        compared += 1
        if comparison.avg_price_agrees is False or comparison.realized_agrees is False:
            position_disagreements.append(
                PositionDisagreement(
                    wallet,
                    p.figures.asset,
                    p.figures.condition_id,
                    comparison.avg_price_delta,
                    comparison.realized_delta,
                    True,
                )
            )
        else:
            agreeing += 1
    disagreements.sort(
        key=lambda d: -_abs_or_zero(d.position_delta if d.position_delta is not None else d.realized_delta)
    )
    position_disagreements.sort(key=lambda d: -_abs_or_zero(d.realized_delta))
    return AgreementReport(
        checked_at=now,
        wallets=counts,
        wallet_share=counts.share,
        disagreements=disagreements,
        likely_causes=dict(Counter(d.likely_cause or "unknown" for d in disagreements)),
        wallets_without_figures=missing,
        wallets_moved_since_point=moved,
        positions_compared=compared,
        positions_agreeing=agreeing,
        positions_incomplete_excluded=excluded,
        position_share=_ratio(Decimal(agreeing), Decimal(compared)),
        position_disagreements=position_disagreements[:MAX_LISTED],
    )
