"""How a market is classified for users: its category and tags, from whatever Gamma and CLOB give.

Gamma's ``category`` is empty on nearly every current market; its events and tags carry the
classification instead. The rule, in order: the market's own category; its event's category
(legacy events have one); the market's first tag label; its event's first tag label; the first
CLOB tag. So ``category`` is never NULL when any source classifies the market.
"""

from __future__ import annotations

from collections.abc import Sequence

from polymarket_pipeline.domain.records import MarketMetadata


def market_category(meta: MarketMetadata | None, clob_tags: Sequence[str] = ()) -> str | None:
    candidates = [
        meta.category if meta else None,
        meta.event_category if meta else None,
        *(meta.tags[:1] if meta else ()),
        *(meta.event_tags[:1] if meta else ()),
        *clob_tags[:1],
    ]
    return next((c.strip() for c in candidates if c and c.strip()), None)


def market_tags(meta: MarketMetadata | None, clob_tags: Sequence[str] = ()) -> list[str]:
    """Every distinct tag label: the market's, then its event's, then CLOB's."""
    labels = [*(meta.tags if meta else ()), *(meta.event_tags if meta else ()), *clob_tags]
    return list(dict.fromkeys(label.strip() for label in labels if label and label.strip()))
