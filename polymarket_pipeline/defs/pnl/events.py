"""What the PnL assets show in the UI: the leaderboard, the totals to plot, the check's verdicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import dagster as dg

from polymarket_pipeline.sync.official import OfficialRun
from polymarket_pipeline.sync.pnl import AgreementReport, PnlRun
from polymarket_pipeline.sync.pnl.report import Leaderboard

CHECK = "pnl_matches_polymarket"
OFFICIAL_CHECK = "official_pnl_read"
LEADERBOARD_ROWS = 25


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def leaderboard_table(board: Leaderboard) -> dg.MetadataValue:
    """Top wallets by position PnL, with what a follower decides on, and whether it is exact."""
    columns = [
        dg.TableColumn("wallet", "string"),
        dg.TableColumn("position_pnl", "float", description="realized + unrealized - fees (USDC)"),
        dg.TableColumn("realized_pnl", "float"),
        dg.TableColumn("win_rate", "float", description="won / (won + lost) over decided positions"),
        dg.TableColumn("roi", "float", description="decided PnL / their buy cost"),
        dg.TableColumn("volume_usdc", "float", description="sum of size x price of fills (USDC notional)"),
        dg.TableColumn("max_drawdown_usdc", "float", description="of the daily position PnL curve"),
        dg.TableColumn("complete", "bool", description="false: the ledger is not exact (see reason)"),
        dg.TableColumn("incomplete_reason", "string"),
        dg.TableColumn("official_delta_usdc", "float", description="ours - Polymarket's position PnL"),
    ]
    records = [
        dg.TableRecord(
            {
                "wallet": r.wallet,
                "position_pnl": _num(r.position_pnl),
                "realized_pnl": _num(r.realized_pnl),
                "win_rate": _num(r.win_rate),
                "roi": _num(r.roi),
                "volume_usdc": _num(r.volume_usdc),
                "max_drawdown_usdc": _num(r.max_drawdown_usdc),
                "complete": r.complete,
                "incomplete_reason": r.incomplete_reason or "",
                "official_delta_usdc": _num(r.official_delta_usdc),
            }
        )
        for r in board.rows[:LEADERBOARD_ROWS]
    ]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def run_figures(run: PnlRun) -> dict[str, Any]:
    """How the update went: how much it read and replayed (its cost tracks the new rows)."""
    return {
        "wallets_updated": run.wallets_updated,
        "wallets_replayed": run.wallets_replayed,
        "wallets_partially_replayed": run.wallets_partially_replayed,
        "wallets_appended": run.wallets_appended,
        "wallets_refreshed": run.wallets_refreshed,
        "new_rows": run.new_rows,
        "rows_read": run.rows_read,
        "late_events": run.late_events,
        "replay_reasons": dg.MetadataValue.json(dict(run.replay_reasons)),
        "update_seconds": round(run.seconds, 3),
        "rows_left_for_the_next_run": run.rows_left,
    }


def board_figures(board: Leaderboard) -> dict[str, Any]:
    """The totals over every wallet, as numbers the UI plots over time."""
    return {
        "wallets": board.wallets,
        "wallets_complete": board.complete,
        "total_position_pnl": _num(board.total_position_pnl) or 0.0,
        "total_realized_pnl": _num(board.total_realized_pnl) or 0.0,
        "total_volume_usdc": _num(board.total_volume_usdc) or 0.0,
        "leaderboard": leaderboard_table(board),
    }


def agreement_figures(report: AgreementReport) -> dict[str, Any]:
    counts = report.wallets
    return {
        "agreement_share": _num(report.wallet_share) if report.wallet_share is not None else -1.0,
        "wallets_compared": counts.compared,
        "wallets_agreeing": counts.agreeing,
        "wallets_disagreeing": counts.disagreeing,
        "wallets_incomplete_excluded": counts.incomplete_excluded,
        "positions_compared": report.positions_compared,
        "positions_agreeing": report.positions_agreeing,
        "position_agreement_share": (
            _num(report.position_share) if report.position_share is not None else -1.0
        ),
    }


def disagreement_lines(report: AgreementReport) -> list[dict[str, Any]]:
    """Each disagreeing wallet with its deltas and the likely cause (none is hidden)."""
    return [
        {
            "wallet": d.wallet,
            "official_point_at": d.point_at.isoformat(),
            "position_delta_usdc": _num(d.position_delta),
            "realized_delta_usdc": _num(d.realized_delta),
            "likely_cause": d.likely_cause or "unknown",
        }
        for d in report.disagreements
    ]


def agreement_check(report: AgreementReport) -> dg.AssetCheckResult:
    """WARN unless every compared (complete) wallet and position agrees with Polymarket's figures,
    and WARN when there was something to compare with but nothing could be (not a silent pass)."""
    wallets_ok = report.wallets.disagreeing == 0
    positions_ok = report.positions_agreeing == report.positions_compared
    comparable = bool(report.wallets_moved_since_point or report.wallets.incomplete_excluded)
    compared_something = report.wallets.compared > 0 or report.positions_compared > 0
    nothing_compared = comparable and not compared_something
    metadata: dict[str, Any] = {
        **agreement_figures(report),
        "disagreeing_wallets": dg.MetadataValue.json(disagreement_lines(report)),
        "likely_causes": dg.MetadataValue.json(report.likely_causes),
        "disagreeing_positions": dg.MetadataValue.json(position_lines(report)),
        "wallets_without_figures": len(report.wallets_without_figures),
        "wallets_moved_since_point": dg.MetadataValue.json(report.wallets_moved_since_point),
        "tolerance": "wallets: max($10, 1 %) of Polymarket's figure; positions: avg ±5e-5, realized "
        "within max($0.01, 1e-4 x cost); incomplete ledgers are excluded, never counted as agreeing",
    }
    if nothing_compared:
        metadata["nothing_compared"] = (
            "official figures exist, but every wallet moved since its point or has an incomplete "
            "ledger, and no position had API figures: nothing was checked"
        )
    return dg.AssetCheckResult(
        asset_key="trader_stats",
        check_name=CHECK,
        passed=wallets_ok and positions_ok and not nothing_compared,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def official_read_check(run: OfficialRun) -> dg.AssetCheckResult:
    """``official_pnl_read``: ERROR when every due wallet's read failed, WARN when some did."""
    all_failed = run.wallets_due > 0 and run.wallets_fetched == 0
    return dg.AssetCheckResult(
        asset_key="wallet_pnl_official",
        check_name=OFFICIAL_CHECK,
        passed=not run.failures,
        severity=dg.AssetCheckSeverity.ERROR if all_failed else dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(run.failures)} of {run.wallets_due} due wallets not read (retried within the hour)"
            if run.failures
            else f"{run.wallets_fetched} of {run.wallets_due} due wallets read"
        ),
        metadata={
            "wallets_due": run.wallets_due,
            "wallets_fetched": run.wallets_fetched,
            "wallets_failed": len(run.failures),
            "failures": dg.MetadataValue.json(run.failures),
        },
    )


def position_lines(report: AgreementReport) -> list[dict[str, Any]]:
    return [
        {
            "wallet": d.wallet,
            "asset": d.asset,
            "avg_price_delta": _num(d.avg_price_delta),
            "realized_delta_usdc": _num(d.realized_delta),
        }
        for d in report.position_disagreements
    ]


def day_totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One ``wallet_pnl_daily`` partition's totals over every wallet (cumulative as of its end)."""

    def total(name: str) -> float:
        return float(sum((r[name] or 0) for r in rows))

    return {
        "wallets": len(rows),
        "position_pnl": total("position_pnl"),
        "realized_pnl": total("realized_pnl"),
        "fees_usdc": total("fees_usdc"),
        "income_usdc": total("income_usdc"),
        "volume_usdc": total("volume_usdc"),
        "fills": int(total("fills")),
        "wallets_unmarked": sum(1 for r in rows if r["unrealized_pnl"] is None),
    }
