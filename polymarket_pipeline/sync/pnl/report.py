"""The PnL figures as a reader wants them: the leaderboard over every wallet, and one wallet's or
one user's figures with their top positions (the UI's metadata, ``polymarket-pipeline pnl show``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from polymarket_pipeline.db import official, pnl_reads
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.sync.official import FETCH_EVERY


@dataclass(frozen=True, slots=True)
class LeaderRow:
    wallet: str
    position_pnl: Decimal | None
    realized_pnl: Decimal
    win_rate: Decimal | None
    roi: Decimal | None
    volume_usdc: Decimal
    max_drawdown_usdc: Decimal
    complete: bool
    incomplete_reason: str | None
    official_delta_usdc: Decimal | None


@dataclass(frozen=True, slots=True)
class Leaderboard:
    rows: list[LeaderRow]
    wallets: int
    complete: int
    total_position_pnl: Decimal
    total_realized_pnl: Decimal
    total_volume_usdc: Decimal


def _row(r: dict[str, Any]) -> LeaderRow:
    return LeaderRow(
        wallet=r["wallet_address"],
        position_pnl=r["position_pnl"],
        realized_pnl=r["realized_pnl"],
        win_rate=r["win_rate"],
        roi=r["roi"],
        volume_usdc=r["volume_usdc"],
        max_drawdown_usdc=r["max_drawdown_usdc"],
        complete=bool(r["complete"]),
        incomplete_reason=r["incomplete_reason"],
        official_delta_usdc=r["official_delta_usdc"],
    )


def leaderboard(engine: Engine, limit: int = 25) -> Leaderboard:
    """Top wallets by position PnL, and totals over every wallet."""
    with reading(engine) as connection:
        rows = pnl_reads.leaderboard(connection, limit)
        totals = pnl_reads.totals(connection)
    return Leaderboard(
        rows=[_row(r) for r in rows],
        wallets=totals["wallets"],
        complete=totals["complete"],
        total_position_pnl=Decimal(totals["position_pnl"]),
        total_realized_pnl=Decimal(totals["realized_pnl"]),
        total_volume_usdc=Decimal(totals["volume_usdc"]),
    )


def day_rows(engine: Engine, day: date) -> list[dict[str, Any]]:
    with reading(engine) as connection:
        return pnl_reads.day_rows(connection, day)


class UnknownSubjectError(LookupError):
    """No figures for this wallet or user: never registered, or no PnL run since it was."""


@dataclass(frozen=True, slots=True)
class PnlReport:
    """One wallet's or one user's figures, and the positions that weigh most."""

    subject: str
    figures: dict[str, Any]
    wallets: list[str] = field(default_factory=list)
    top_positions: list[dict[str, Any]] = field(default_factory=list)


def wallet_report(engine: Engine, wallet: str, top: int = 10) -> PnlReport:
    with reading(engine) as connection:
        stats = pnl_reads.wallet_stats(connection, wallet)
        if stats is None:
            raise UnknownSubjectError(
                f"no PnL figures for wallet {wallet}: not registered, or no pnl_job run since it was"
            )
        positions = pnl_reads.top_positions(connection, [wallet], top)
    return PnlReport(wallet, stats, [wallet], positions)


def user_report(engine: Engine, user_id: str, top: int = 10) -> PnlReport:
    with reading(engine) as connection:
        figures, wallets = pnl_reads.user_figures(connection, user_id)
        if figures is None:
            raise UnknownSubjectError(
                f"no PnL figures for user {user_id!r}: no linked wallets, or no pnl_job run since"
            )
        positions = pnl_reads.top_positions(connection, wallets, top) if wallets else []
    return PnlReport(user_id, figures, wallets, positions)


@dataclass(frozen=True, slots=True)
class PendingWork:
    reason: str | None

    @property
    def any(self) -> bool:
        return self.reason is not None


def pending_work(engine: Engine, *, now: datetime | None = None) -> PendingWork:
    """Whether a PnL run has anything to do: new tape rows or snapshots, or official series due."""
    now = now or datetime.now(UTC)
    with reading(engine) as connection:
        reason = pnl_reads.new_since_last_run(connection)
        if reason is None and official.due_wallets(connection, fetched_before=now - FETCH_EVERY, limit=1):
            reason = "official series due"
    return PendingWork(reason)
