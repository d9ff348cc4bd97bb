"""Data API v1 ("legacy"): bare JSON arrays of camelCase rows, ``limit``/``offset`` paging.

Offset walks advance by the rows received (servers may cap ``limit``), end on an empty page,
and stop early, marked incomplete, at the route's offset cap, at ``max_pages_per_walk`` pages,
or when a page comes back byte-for-byte equal to one already read in the walk (a server stuck
on one page). Offsets shift when fills arrive mid-walk, so a row may be served on two pages:
the walk's rows are the union of its pages, each row once.

Per-route caps: ``/trades`` 3,000 (observed: larger offsets are rejected), ``/positions``
10,000 (documented; ``limit`` at most 500), ``/activity`` 5,000 (observed). ``/activity`` is
walked oldest first (``sortDirection=ASC``: MERGE and SPLIT rows come back empty otherwise) from
``start``; at the offset cap the walk re-anchors ``start`` at the newest timestamp read so far
and goes on from offset 0, so a long history is still read whole (rows of that second are read
twice and counted once).

Never served from a cache: ``/activity`` sends a moving ``end`` (now + the clock-skew
allowance). ``/trades`` and ``/positions`` have no time parameter, so each request's ``limit``
cycles through the upper half of the page size (``page_size // 2 + 1 .. page_size``), one step
per request for the same route, wallet and offset (see ``LimitCycler``): ``limit`` only sizes
the page, the walk advances by rows received, so the rows returned are the same, but two
consecutive requests of one walk step never share a URL, and an edge cache keyed on the URL
(``max-age=300``) cannot answer with an old page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from polymarket_pipeline.api.data.rows import ActivityRow, ClosedPositionRow, PositionRow, TradeRow, ValueRow
from polymarket_pipeline.api.data.walk import (
    BOUNDS,
    AdapterCore,
    Walk,
    activity_history,
    first_timestamp,
    in_window,
    portfolio_value,
    snapshot,
    type_csv,
    value_of,
)
from polymarket_pipeline.api.errors import ApiHTTPError
from polymarket_pipeline.api.fields import wire_config
from polymarket_pipeline.api.results import (
    ActivityHistory,
    FeedPage,
    PositionSnapshot,
    TradeHistory,
)
from polymarket_pipeline.api.settings import V1_MAX_POSITIONS_LIMIT
from polymarket_pipeline.api.transport import Params
from polymarket_pipeline.api.validation import ParseContext, Rejections, validate_rows, wallet_check
from polymarket_pipeline.domain.addresses import normalize_address
from polymarket_pipeline.domain.fills import fill_from_trade_activity
from polymarket_pipeline.domain.records import Fill, PortfolioValue

_CAMEL = {"wallet_address": "proxyWallet"}
V1_MAX_CLOSED_LIMIT = 50
"""v1 ``/closed-positions`` rejects ``limit`` above 50 (documented; default 10)."""
V1_CLOSED_OFFSET_CAP = 100_000


class V1Trade(TradeRow):
    model_config = wire_config(_CAMEL, camel=True)


class V1Position(PositionRow):
    model_config = wire_config(_CAMEL, camel=True)


class V1ClosedPosition(ClosedPositionRow):
    model_config = wire_config(_CAMEL, camel=True)


class V1Activity(ActivityRow):
    model_config = wire_config(_CAMEL, camel=True)


class V1Value(ValueRow):
    model_config = wire_config({"wallet_address": "user"}, camel=True)


def parse_page(
    ctx: ParseContext,
    model: type[TradeRow | PositionRow | ClosedPositionRow | ActivityRow],
    body: Any,
    rejections: Rejections,
) -> list[Any]:
    """One page's records: bad rows (and other wallets' rows on wallet calls) rejected one by one;
    a body that is not an array raises."""
    rows = validate_rows(ctx, model, body, rejections, check=wallet_check(ctx.wallet))
    return [row.to_record() for row in rows]


def parse_value(ctx: ParseContext, body: Any, rejections: Rejections) -> PortfolioValue:
    """The documented ``[{user, value}]`` (a bare object is accepted too)."""
    return value_of(ctx, V1Value, body, rejections)


class LimitCycler:
    """Successive ``limit`` values for the same (route, wallet, offset): never the same twice running.

    Process-wide (clients come and go every sensor tick; the edge cache does not), thread-safe,
    bounded in memory. The first value of a key is seeded from the clock, so a restarted process
    does not replay the previous one's URLs.
    """

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._next: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def limit(self, route: str, wallet: str | None, offset: int, page_size: int) -> int:
        span = max(1, page_size // 2)
        key = (route, wallet or "", offset)
        with self._lock:
            step = self._next.get(key)
            step = (int(time.time()) if step is None else step) % span  # page sizes may differ
            if len(self._next) >= self.MAX_KEYS:
                self._next.clear()
            self._next[key] = (step + 1) % span
        return page_size - step


LIMITS = LimitCycler()


class Adapter(AdapterCore):
    """Data API v1."""

    version = "v1"

    async def _walk(
        self,
        path: str,
        params: Params,
        wallet: str | None,
        model: type[TradeRow] | type[PositionRow] | type[ClosedPositionRow] | type[ActivityRow],
        *,
        page_size: int,
        offset_cap: int,
        vary_limit: bool,
        max_pages: int | None = None,
        stop: Callable[[list[Any]], bool] | None = None,
        reanchor: Literal["start", "end"] | None = None,
    ) -> Walk[Any]:
        """Offset-page ``path`` (see the module docstring). ``reanchor`` names the time bound to
        move when the offset cap is reached: ``start`` to the newest timestamp read (oldest-first
        walks), ``end`` to the oldest (newest-first walks); the anchor's second is read again."""
        route = f"GET {path}"
        walk: Walk[Any] = Walk(ParseContext(route, wallet, self._now()), self.transport.stats)
        limit_pages = min(max_pages or self.settings.max_pages_per_walk, self.settings.max_pages_per_walk)
        offset = 0
        seen: set[str] = set()
        anchor = next((int(v) for k, v in params if k == reanchor and isinstance(v, int)), None)
        reached: int | None = None
        """The newest (``start``) or oldest (``end``) timestamp read since the anchor last moved."""
        further = max if reanchor == "start" else min

        def move_anchor() -> bool:
            nonlocal anchor, offset, reached, params
            if reanchor is None or reached is None:
                return False
            if anchor is not None and further(reached, anchor) == anchor:
                return False  # nothing beyond the anchor was read: moving it would loop
            anchor, offset, reached = reached, 0, None
            params = [(k, v) for k, v in params if k != reanchor] + [(reanchor, anchor)]
            seen.clear()  # the first page of the new anchor may equal the last one read
            return True

        while True:
            if len(walk.bodies) >= limit_pages:
                walk.stop_incomplete(f"page limit ({limit_pages}) reached")
                break
            if offset > offset_cap and not move_anchor():
                walk.stop_incomplete(f"offset cap ({offset_cap}) reached")
                break
            limit = LIMITS.limit(route, wallet, offset, page_size) if vary_limit else page_size
            ctx = walk.page_ctx
            try:
                body = await self.transport.get(
                    "data", path, [*params, ("limit", limit), ("offset", offset)], route=route, wallet=wallet
                )
            except ApiHTTPError as exc:
                if exc.status != 400 or offset == 0:
                    raise
                # a 400 past offset 0 is the server's own offset cap, below ours
                if move_anchor():
                    continue
                walk.stop_incomplete(f"offset {offset} rejected by the server ({exc.detail})")
                break
            assert body is not None
            if body.digest in seen:
                walk.stop_incomplete(f"page at offset {offset} repeats a page already read")
                break
            seen.add(body.digest)
            records = parse_page(ctx, model, body.data, walk.rejections)
            walk.add(body.data, records)
            served = len(body.data)
            if served == 0 or (stop is not None and stop(records)):
                break
            stamps = [r.timestamp for r in records if hasattr(r, "timestamp")]
            if stamps:
                reached = further([*stamps, reached] if reached is not None else stamps)
            offset += served
        walk.finish()
        return walk

    async def wallet_trades(
        self, wallet: str, *, start: int | None, end: int | None, max_pages: int | None = None
    ) -> TradeHistory:
        wallet = normalize_address(wallet)
        await self.transport.cooldown.wait(wallet, "GET /trades")

        def past_start(page: list[Fill]) -> bool:
            return start is not None and bool(page) and min(f.timestamp for f in page) < start

        walk = await self._trades_walk([("user", wallet)], wallet, max_pages=max_pages, stop=past_start)
        return TradeHistory(fills=walk.rows(in_window(start, end)), **walk.outcome())

    async def _trades_walk(
        self, params: Params, wallet: str | None, *, max_pages: int | None, stop: Callable[[list[Any]], bool]
    ) -> Walk[Any]:
        """``/trades`` (both legs), offset-paged to its cap, newest first, until ``stop``."""
        return await self._walk(
            "/trades",
            [*params, ("takerOnly", "false")],
            wallet,
            V1Trade,
            page_size=self.settings.v1_trades_page_size,
            offset_cap=self.settings.v1_offset_cap,
            vary_limit=True,
            max_pages=max_pages,
            stop=stop,
        )

    async def trades_before(self, wallet: str, *, end: int, max_pages: int) -> TradeHistory:
        """Fills at or before ``end`` read from ``/activity`` TRADE rows, newest first.

        ``/trades`` reads no deeper than its offset cap and has no time filter, so the history
        below it comes from ``/activity?type=TRADE`` (``end`` inclusive; at its own offset cap the
        walk moves ``end`` to the oldest second read and goes on). Each TRADE row carries the
        fill's side, token, size, price and transaction, so it keys to the same ``trade_id``.
        """
        history = await self._activity_walk(
            normalize_address(wallet), ["TRADE"], start=None, end=end, ascending=False, max_pages=max_pages
        )
        fills = [f for f in map(fill_from_trade_activity, history.items) if f is not None]
        not_fills = len(history.items) - len(fills)
        return TradeHistory(
            fills=fills, **{**history.walk_fields(), "rejected": history.rejected + not_fills}
        )

    async def trade_feed(self, *, since: int, max_pages: int) -> FeedPage:
        def reached(page: list[Fill]) -> bool:
            return any(f.timestamp < since for f in page)

        walk = await self._trades_walk([], None, max_pages=max_pages, stop=reached)
        return FeedPage(
            fills=walk.rows(in_window(since, None)), reached_since=walk.complete, rejected=walk.rejected
        )

    async def positions(self, wallet: str) -> PositionSnapshot:
        wallet = normalize_address(wallet)
        await self.transport.cooldown.wait(wallet, "GET /positions")
        walk = await self._walk(
            "/positions",
            [("user", wallet), ("sizeThreshold", self.settings.position_size_floor)],
            wallet,
            V1Position,
            page_size=min(self.settings.v1_positions_page_size, V1_MAX_POSITIONS_LIMIT),
            offset_cap=self.settings.v1_positions_offset_cap,
            vary_limit=True,
        )
        return snapshot(walk)

    async def closed_positions(self, wallet: str) -> PositionSnapshot:
        """``/closed-positions`` (``limit`` at most 50, offsets up to 100,000): Polymarket's own
        avg and realized PnL of the positions with no shares left."""
        wallet = normalize_address(wallet)
        await self.transport.cooldown.wait(wallet, "GET /closed-positions")
        walk = await self._walk(
            "/closed-positions",
            [("user", wallet), ("sortBy", "TIMESTAMP")],
            wallet,
            V1ClosedPosition,
            page_size=V1_MAX_CLOSED_LIMIT,
            offset_cap=V1_CLOSED_OFFSET_CAP,
            vary_limit=True,
        )
        return snapshot(walk)

    history_from_activity = True
    walks_activity_forward = True
    """v1 walks activity oldest first (MERGE and SPLIT rows come back empty otherwise): a walk
    that stops early leaves the newest rows for the next poll, which starts where it stopped."""

    async def activity(
        self,
        wallet: str,
        *,
        types: Sequence[str],
        start: int | None,
        end: int | None,
        max_pages: int | None = None,
    ) -> ActivityHistory:
        return await self._activity_walk(
            normalize_address(wallet), types, start=start, end=end, ascending=True, max_pages=max_pages
        )

    async def activity_before(self, wallet: str, *, end: int, max_pages: int) -> ActivityHistory | None:
        """None: v1 activity never leaves older rows behind (see ``walks_activity_forward``)."""
        return None

    async def first_activity_at(self, wallet: str) -> int | None:
        """The wallet's oldest activity row's second (one ASC request), None when it has none."""
        wallet = normalize_address(wallet)
        params: Params = [("user", wallet), ("sortBy", "TIMESTAMP"), ("sortDirection", "ASC"), ("limit", 1)]

        def parse(ctx: ParseContext, body: Any, rejections: Rejections) -> list[Any]:
            return parse_page(ctx, V1Activity, body, rejections)

        return await first_timestamp(self.transport, "/activity", params, wallet, self._now(), parse)

    async def _activity_walk(
        self,
        wallet: str,
        types: Sequence[str],
        *,
        start: int | None,
        end: int | None,
        ascending: bool,
        max_pages: int | None,
    ) -> ActivityHistory:
        """``/activity`` in either direction, re-anchoring its time bound at the offset cap."""
        await self.transport.cooldown.wait(wallet, "GET /activity")
        bound = (
            end
            if end is not None
            else BOUNDS.end("/activity", wallet, self._now() + self.settings.clock_skew_allowance_seconds)
        )
        direction = "ASC" if ascending else "DESC"
        params: Params = [("user", wallet), ("sortBy", "TIMESTAMP"), ("sortDirection", direction)]
        if start is not None:
            params.append(("start", start))
        params.append(("end", bound))
        csv = type_csv(list(types))
        if csv:
            params.append(("type", csv))
        walk = await self._walk(
            "/activity",
            params,
            wallet,
            V1Activity,
            page_size=min(self.settings.v1_positions_page_size, V1_MAX_POSITIONS_LIMIT),
            offset_cap=self.settings.v1_activity_offset_cap,
            vary_limit=False,  # the moving ``end`` already makes every URL new
            max_pages=max_pages,
            reanchor="start" if ascending else "end",
        )
        return activity_history(walk, start, end)

    async def value(self, wallet: str) -> tuple[PortfolioValue, Any]:
        return await portfolio_value(
            self.transport, "/value", normalize_address(wallet), self._now(), parse_value
        )
