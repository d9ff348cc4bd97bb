"""Fill identity and the polling window: which fills a poll must ask for, and how they are keyed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from polymarket_pipeline.domain.records import Activity, Fill


class Keyed(Protocol):
    @property
    def natural_key(self) -> str: ...


R = TypeVar("R", bound=Keyed)

FULL_HISTORY_START = 1
"""v2 ``start=1`` asks for a wallet's whole history."""


@dataclass(frozen=True, slots=True)
class KeyedFill:
    trade_id: str
    occurrence: int
    fill: Fill


def union_pages(pages: Iterable[Sequence[R]]) -> list[R]:
    """The rows of a paged walk, each row once, whatever the paging repeated.

    A row served on two pages (v1 offsets shift when a fill arrives mid-walk, a server repeats a
    page, a cursor boundary repeats its last row) is one row; exact repeats *within one page* are
    genuinely distinct fills of one transaction and are all kept. So a natural key appears as
    many times as it does on the page that holds it most often (a multiset union). The limit:
    identical legs split across a page boundary, and never seen together on one page, count
    once until a later, smaller poll sees them together (occurrences are upserted, never lost).
    """
    most: dict[str, int] = {}
    rows: dict[str, list[R]] = {}
    for page in pages:
        counts: Counter[str] = Counter()
        for row in page:
            key = row.natural_key
            counts[key] += 1
            if counts[key] > most.get(key, 0):
                most[key] = counts[key]
                rows.setdefault(key, []).append(row)
    return [row for same in rows.values() for row in same]


def key_fills(fills: Iterable[Fill]) -> list[KeyedFill]:
    """Give every fill its ``trade_id``.

    Exact repeats of one natural key (after :func:`union_pages`) are numbered 0, 1, 2… so
    distinct fills that happen to be identical stay distinct. Polls always ask from a whole
    second on, so the numbering is the same on every poll.
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


class OutcomeLookup(Protocol):
    def outcome_of(self, asset: str) -> tuple[int, str | None] | None: ...


def label_outcomes(fills: Sequence[Fill], markets: Mapping[str, OutcomeLookup]) -> list[Fill]:
    """Fill in ``outcome_index`` (and ``outcome``) where a row lacks them, from its market's tokens.

    The global feed labels many rows 999 ("unknown"); the market's token list says which outcome
    a token is, so feed rows are stored complete. Known values are never changed.
    """
    labeled = []
    for fill in fills:
        market = markets.get(fill.condition_id) if fill.outcome_index is None else None
        found = market.outcome_of(fill.asset) if market is not None else None
        if found is not None:
            index, outcome = found
            fill = replace(fill, outcome_index=index, outcome=fill.outcome or outcome)
        labeled.append(fill)
    return labeled


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


def fill_from_trade_activity(row: Activity) -> Fill | None:
    """The fill behind a TRADE activity row, or None when the row lacks what a fill needs.

    A TRADE row names the fill's side, token, size, price and transaction, so it keys to the same
    ``trade_id`` as the ``/trades`` row of that fill: reading a history from either route stores
    each fill once.
    """
    if row.type != "TRADE" or row.side not in ("BUY", "SELL") or not row.asset or not row.condition_id:
        return None
    if row.size is None or row.price is None:
        return None
    return Fill(
        wallet_address=row.wallet_address,
        side="BUY" if row.side == "BUY" else "SELL",
        asset=row.asset,
        condition_id=row.condition_id,
        size=row.size,
        price=row.price,
        timestamp=row.timestamp,
        transaction_hash=row.transaction_hash,
        title=row.title,
        slug=row.slug,
        event_slug=row.event_slug,
        outcome=row.outcome,
        outcome_index=row.outcome_index,
    )
