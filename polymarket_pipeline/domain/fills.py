"""Fill identity and the polling window: which fills a poll must ask for, and how they are keyed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from polymarket_pipeline.domain.records import Fill

FULL_HISTORY_START = 1
"""v2 ``start=1`` asks for a wallet's whole history."""


@dataclass(frozen=True, slots=True)
class KeyedFill:
    trade_id: str
    occurrence: int
    fill: Fill


def key_fills(fills: Iterable[Fill]) -> list[KeyedFill]:
    """Give every fill its ``trade_id``.

    Exact repeats of one natural key in one response are numbered 0, 1, 2… so distinct fills
    that happen to be identical stay distinct. Responses are complete per second (a poll always
    asks from a whole second on), so the numbering is the same on every poll.
    """
    seen: Counter[str] = Counter()
    keyed = []
    for fill in sorted(fills, key=_stable_order):
        key = fill.natural_key
        occurrence = seen[key]
        seen[key] += 1
        keyed.append(KeyedFill(fill.trade_id(occurrence), occurrence, fill))
    return keyed


def _stable_order(fill: Fill) -> tuple[int, str, str, str, float, float]:
    return (fill.timestamp, fill.transaction_hash.lower(), fill.asset, fill.side, fill.size, fill.price)


def poll_start(watermark: datetime | None, overlap_seconds: int) -> int:
    """First second a poll asks for: the watermark minus an overlap, or the whole history.

    The overlap re-reads fills that share (or trail) the watermark's second, which the API may
    index late; re-read fills are the same rows again (upsert by ``trade_id``), never duplicates.
    """
    if watermark is None:
        return FULL_HISTORY_START
    return max(FULL_HISTORY_START, int(watermark.timestamp()) - overlap_seconds)


def newest_fill_time(fills: Sequence[Fill]) -> datetime | None:
    if not fills:
        return None
    return datetime.fromtimestamp(max(f.timestamp for f in fills), tz=UTC)
