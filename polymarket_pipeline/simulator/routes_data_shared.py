"""What the Data API's v1 and v2 routes share: row filters, JSON row encoding, sorting, values.

Field names, defaults, caps and error bodies follow /work/shared/reference/polymarket_api.md and
the recorded payloads in /work/shared/real_payloads; where the real API is stricter in practice
than its spec, the practice wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.responses import Response

from polymarket_pipeline.simulator.context import SimContext
from polymarket_pipeline.simulator.positions import PositionView
from polymarket_pipeline.simulator.tape import Activity, Fill
from polymarket_pipeline.simulator.web import ApiError, Query, json_bytes, r6

T = TypeVar("T")

DIRECTIONS = ("ASC", "DESC")
ROW_CACHE_LIMIT = 500_000


def all_of(checks: list[Callable[[T], bool]]) -> Callable[[T], bool] | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda row: all(check(row) for check in checks)


def row_filters(
    conditions: Sequence[str], events: Sequence[int], side: str | None
) -> list[Callable[[Any], bool]]:
    """Filters that apply to fills and activity alike (both carry market and side)."""
    checks: list[Callable[[Any], bool]] = []
    if conditions:
        cond_set = frozenset(conditions)
        checks.append(lambda r: r.market is not None and r.market.condition_id in cond_set)
    if events:
        event_set = frozenset(events)
        checks.append(lambda r: r.market is not None and r.market.event_id in event_set)
    if side is not None:
        checks.append(lambda r: r.side == side)
    return checks


def type_filter(types: Sequence[str]) -> Callable[[Activity], bool]:
    wanted = frozenset(types)
    return lambda a: a.type in wanted


def amount_filter(kind: str | None, amount: float | None) -> list[Callable[[Fill], bool]]:
    if kind is None or amount is None or amount <= 0:
        return []
    if kind == "CASH":
        return [lambda f: f.size * f.price >= amount]
    return [lambda f: f.size >= amount]


def encode_rows(
    ctx: SimContext,
    shape: str,
    rows: Sequence[Fill] | Sequence[Activity],
    build: Callable[[Any], dict[str, Any]],
) -> bytes:
    """A JSON array of immutable rows, each encoded once and then reused (the hot path of paging)."""
    cache = ctx.row_cache
    if len(cache) > ROW_CACHE_LIMIT:
        cache.clear()
    parts: list[bytes] = []
    for row in rows:
        key = (shape, row.seq)
        encoded = cache.get(key)
        if encoded is None:
            encoded = cache[key] = json_bytes(build(row))
        parts.append(encoded)
    return b"[" + b",".join(parts) + b"]"


def raw_json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def sort_rows(
    rows: list[T], key: Callable[[T], Any], descending: bool, tiebreak: Callable[[T], Any]
) -> list[T]:
    rows = sorted(rows, key=tiebreak)
    rows.sort(key=key, reverse=descending)
    return rows


def position_tiebreak(v: PositionView) -> tuple[str, int, str]:
    return (v.market.condition_id, v.outcome_index, v.wallet)


def portfolio_value(ctx: SimContext, wallet: str | None, conditions: Sequence[str]) -> float:
    """What /value reports: the current value of every visible position (optionally some markets)."""
    cond_set = set(conditions)
    views = ctx.model.position_views(wallet, held_only=True)
    return r6(
        sum(
            v.current_value
            for v in views
            if not v.hidden and (not cond_set or v.market.condition_id in cond_set)
        )
    )


def title_filter(q: Query, max_len: int) -> str | None:
    title = q.get("title")
    if title is not None and len(title) > max_len:
        raise ApiError(400, f"title must be at most {max_len} characters", "title")
    return title.lower() if title else None


def activity_types(q: Query, allowed: tuple[str, ...]) -> list[str]:
    types = [t.upper() for t in q.get_list("type")]
    for t in types:
        if t not in allowed:
            raise ApiError(400, f"type must be among {', '.join(allowed)}", "type")
    return types


def filter_positions(
    rows: list[PositionView], markets: Sequence[str], events: Sequence[int], title: str | None
) -> list[PositionView]:
    if markets:
        market_set = set(markets)
        rows = [v for v in rows if v.market.condition_id in market_set]
    if events:
        event_set = set(events)
        rows = [v for v in rows if v.market.event_id in event_set]
    if title:
        rows = [v for v in rows if title in v.market.question.lower()]
    return rows
