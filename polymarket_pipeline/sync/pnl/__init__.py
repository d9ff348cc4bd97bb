"""Keeping the PnL tables current from the stored tape, incrementally (plain functions, no network).

The figures are ``domain.pnl``'s replay and ``domain.performance``'s totals; this package decides
*what* to replay and keeps the result resumable (``update``), writes past days (``days``) and
compares with Polymarket's own figures (``check``). ``update``'s docstring describes the cursor,
the stored state and what triggers a replay.
"""

from polymarket_pipeline.sync.pnl.check import AgreementReport, WalletDisagreement, pnl_agreement
from polymarket_pipeline.sync.pnl.days import DayRun, compute_day, refresh_drawdowns
from polymarket_pipeline.sync.pnl.markets import KnownMarket, fingerprint, known_markets
from polymarket_pipeline.sync.pnl.totals import PositionDisagreement, Totals, performance_of
from polymarket_pipeline.sync.pnl.update import PnlRun, update_pnl

__all__ = [
    "AgreementReport",
    "DayRun",
    "KnownMarket",
    "PnlRun",
    "PositionDisagreement",
    "Totals",
    "WalletDisagreement",
    "compute_day",
    "fingerprint",
    "known_markets",
    "performance_of",
    "pnl_agreement",
    "refresh_drawdowns",
    "update_pnl",
]
