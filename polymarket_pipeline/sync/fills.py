"""What every writer of fills shares: outcome labels from the market directory, trade ids, the
days a batch of fills marks, and the clock rows are stamped with.

The per-wallet poll, the global feed and the history steps all prepare fills the same way before
they write them; this module is where that is written once.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.domain.fills import KeyedFill, key_fills, label_outcomes
from polymarket_pipeline.domain.records import Fill
from polymarket_pipeline.sync.markets import MarketDirectory

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def fill_days(keyed: Sequence[KeyedFill]) -> Counter[str]:
    return Counter(datetime.fromtimestamp(k.fill.timestamp, tz=UTC).strftime("%Y-%m-%d") for k in keyed)


async def label_and_key(markets: MarketDirectory, fills: Sequence[Fill]) -> list[KeyedFill]:
    """Fills keyed for ``trades_public``, with the outcome a degraded row lacks taken from its market.

    Labeling is best effort: with Gamma and CLOB unreachable the fills are stored unlabeled (an
    unknown outcome), and the next read that knows it fills it in (unknown never overwrites known).
    """
    unlabeled = {f.condition_id for f in fills if f.outcome_index is None}
    if unlabeled:
        try:
            fills = label_outcomes(fills, await markets.get(unlabeled))
        except PolymarketError as exc:
            log.warning("fills stored without outcome labels: market lookup failed: %s", exc)
    return key_fills(fills)
