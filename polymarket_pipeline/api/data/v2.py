"""Data API v2: ``{data, pagination}`` envelopes of snake_case rows, opaque cursor paging.

Walks follow ``next_cursor`` to the end, re-sending every filter on each page (the cursor only
carries the seek anchor). A cursor served twice in one walk, or ``max_pages_per_walk`` pages,
ends the walk as incomplete instead of looping forever.

Never served from a cache: ``/v2/trades`` (per wallet and the unscoped feed, which ignores the
value), ``/v2/activity`` and ``/v2/positions`` (on ``last_event_at``) send ``end`` = now + the
clock-skew allowance, fixed for the walk (bumped a second when a route and wallet repeat within
one second). The API's own default for an omitted ``end`` is now + 1 day, so the bound hides
nothing, but no two URLs repeat and an edge cache keyed on them (``max-age=300``) cannot answer
with an old page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, StrictBool

from polymarket_pipeline.api.data.rows import ActivityRow, PositionRow, TradeRow, ValueRow
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
from polymarket_pipeline.api.fields import WireModel, wire_config
from polymarket_pipeline.api.results import ActivityHistory, FeedPage, PositionSnapshot, TradeHistory
from polymarket_pipeline.api.settings import V2_MAX_LIMIT
from polymarket_pipeline.api.transport import Params
from polymarket_pipeline.api.validation import (
    ParseContext,
    Rejections,
    validate_object,
    validate_rows,
    wallet_check,
)
from polymarket_pipeline.domain.addresses import normalize_address
from polymarket_pipeline.domain.records import Fill, PortfolioValue

MAX_CURSOR_CHARS = 4096
"""A cursor is sent back in the URL: a longer one (or one with spaces or controls) is refused."""
_CURSOR = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]{1,4096}")


class V2Trade(TradeRow):
    model_config = wire_config({"wallet_address": "proxy_wallet", "asset": "token_id"}, camel=False)


class V2Position(PositionRow):
    model_config = wire_config(
        {
            "wallet_address": "proxy_wallet",
            "asset": "token_id",
            "size": "current_size",
            "cur_price": "current_price",
            "initial_value": "entry_cost_usdc",
            "cash_pnl": "unrealized_pnl",
            "total_bought": "total_size",  # lifetime bought, not the balance
        },
        camel=False,
    )


class V2Activity(ActivityRow):
    model_config = wire_config({"wallet_address": "proxy_wallet", "asset": "token_id"}, camel=False)


class V2Value(ValueRow):
    # documented: proxy_wallet; ``user`` (v1's name) is accepted too
    model_config = wire_config({"wallet_address": AliasChoices("proxy_wallet", "user")}, camel=False)


def _cursor(value: Any) -> Any:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _CURSOR.fullmatch(value):
        raise ValueError(f"must be at most {MAX_CURSOR_CHARS} printable characters without spaces")
    return value


class V2Pagination(WireModel):
    next_cursor: Annotated[str | None, BeforeValidator(_cursor)] = None
    has_more: StrictBool | None = None


class V2Envelope(WireModel):
    """Every v2 response: ``data`` plus, on list routes, ``pagination``."""

    data: Any
    pagination: V2Pagination | None = None

    @property
    def next_cursor(self) -> str | None:
        """The cursor to follow, or None on the last page (``has_more`` false or no cursor)."""
        p = self.pagination
        if p is None or p.next_cursor is None or p.has_more is False:
            return None
        return p.next_cursor


def parse_page(
    ctx: ParseContext, model: type[TradeRow | PositionRow | ActivityRow], body: Any, rejections: Rejections
) -> tuple[list[Any], str | None]:
    """One page: its records (bad rows, and other wallets' rows on wallet calls, rejected one by
    one) and the cursor of the next page (None on the last). A wrong envelope raises."""
    envelope = validate_object(ctx, V2Envelope, body)
    data = [] if envelope.data is None else envelope.data
    rows = validate_rows(ctx, model, data, rejections, where="data", check=wallet_check(ctx.wallet))
    return [row.to_record() for row in rows], envelope.next_cursor


def parse_value(ctx: ParseContext, body: Any, rejections: Rejections) -> PortfolioValue:
    """``{"data": {"proxy_wallet", "value"}}`` (a list in ``data`` is accepted too)."""
    return value_of(ctx, V2Value, validate_object(ctx, V2Envelope, body).data, rejections)


class Adapter(AdapterCore):
    """Data API v2."""

    version = "v2"

    def _end(self, route: str, wallet: str | None, end: int | None = None) -> int:
        """The caller's ``end``, else the moving bound now + allowance (see the module docstring)."""
        if end is not None:
            return end
        return BOUNDS.end(route, wallet, self._now() + self.settings.clock_skew_allowance_seconds)

    @property
    def _limit(self) -> int:
        return min(self.settings.v2_page_size, V2_MAX_LIMIT)

    async def _walk(
        self,
        path: str,
        params: Params,
        wallet: str | None,
        model: type[TradeRow | PositionRow | ActivityRow],
        *,
        max_pages: int | None = None,
        stop: Callable[[list[Any]], bool] | None = None,
    ) -> Walk[Any]:
        """Follow the cursor: every page validated row by row, bounded in pages, loops refused."""
        route = f"GET {path}"
        walk: Walk[Any] = Walk(ParseContext(route, wallet, self._now()), self.transport.stats)
        limit = min(max_pages or self.settings.max_pages_per_walk, self.settings.max_pages_per_walk)
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            if len(walk.bodies) >= limit:
                walk.stop_incomplete(f"page limit ({limit}) reached with more pages to read")
                break
            page_params = [*params, ("cursor", cursor)] if cursor else params
            body = await self.transport.get("data", path, page_params, route=route, wallet=wallet)
            assert body is not None
            records, cursor = parse_page(walk.page_ctx, model, body.data, walk.rejections)
            walk.add(body.data, records)
            if cursor is None or (stop is not None and stop(records)):
                break
            if cursor in seen:
                walk.stop_incomplete("pagination.next_cursor repeated")
                break
            seen.add(cursor)
        walk.finish()
        return walk

    async def wallet_trades(
        self, wallet: str, *, start: int | None, end: int | None, max_pages: int | None = None
    ) -> TradeHistory:
        wallet = normalize_address(wallet)
        await self.transport.cooldown.wait(wallet, "GET /v2/trades")
        params: Params = [
            ("user", wallet),
            ("limit", self._limit),
            ("taker_only", "false"),
            # the default 0.01-share floor would hide dust fills that v1 returns
            ("filter_type", "TOKENS"),
            ("filter_amount", 0),
            ("start", max(start or 1, 1)),  # start=1 asks v2 for the full history
            ("end", self._end("/v2/trades", wallet, end)),
        ]
        walk = await self._walk("/v2/trades", params, wallet, V2Trade, max_pages=max_pages)
        rereads = await self._settle_boundaries(walk, params, wallet)
        outcome = walk.outcome()
        return TradeHistory(
            fills=walk.rows(in_window(start, end)), **{**outcome, "pages": outcome["pages"] + rereads}
        )

    async def trades_before(self, wallet: str, *, end: int, max_pages: int) -> TradeHistory:
        """Fills at or before ``end``, newest first, from up to ``max_pages`` pages (full history
        below ``end``: ``start=1``); ``complete`` means the first fill was reached."""
        return await self.wallet_trades(wallet, start=None, end=end, max_pages=max_pages)

    async def _settle_boundaries(self, walk: Walk[Any], params: Params, wallet: str) -> int:
        """Re-read, in a one-second window, each second whose fills straddle a page boundary.

        One page holding the whole second counts its identical legs exactly; it joins the walk
        as a page of its own, so the union keeps the right multiplicity. One extra request per
        straddling second (rare with 1,000-row pages); skipped when the second alone fills a page.
        """
        straddling = walk.straddling_keys()
        seconds = sorted({r.timestamp for page in walk.pages for r in page if r.natural_key in straddling})
        fixed = {k: v for k, v in params if k not in ("start", "end")}
        for second in seconds:
            narrow: Params = [*fixed.items(), ("start", second), ("end", second)]
            one = await self._walk("/v2/trades", narrow, wallet, V2Trade, max_pages=1)
            if one.complete and one.pages:
                walk.pages.append(one.pages[0])
        return len(seconds)

    async def trade_feed(self, *, since: int, max_pages: int) -> FeedPage:
        params: Params = [
            ("limit", self._limit),
            ("taker_only", "false"),
            ("filter_type", "TOKENS"),
            ("filter_amount", 0),
            ("end", self._end("/v2/trades", None)),  # ignored without user, but it moves the URL
        ]

        def reached(page: list[Fill]) -> bool:
            return any(f.timestamp < since for f in page)

        walk = await self._walk("/v2/trades", params, None, V2Trade, max_pages=max_pages, stop=reached)
        return FeedPage(
            fills=walk.rows(in_window(since, None)),
            reached_since=walk.complete,
            rejected=walk.rejected,
        )

    async def positions(self, wallet: str) -> PositionSnapshot:
        wallet = normalize_address(wallet)
        await self.transport.cooldown.wait(wallet, "GET /v2/positions")
        params: Params = [
            ("user", wallet),
            ("limit", self._limit),
            ("filter_type", "TOKENS"),
            ("filter_amount", self.settings.position_size_floor),
            ("end", self._end("/v2/positions", wallet)),  # on last_event_at: every position, a new URL
        ]
        walk = await self._walk("/v2/positions", params, wallet, V2Position)
        return snapshot(walk)

    async def closed_positions(self, wallet: str) -> PositionSnapshot:
        """``status=CLOSED``: positions with no shares left, with Polymarket's own avg and realized."""
        wallet = normalize_address(wallet)
        await self.transport.cooldown.wait(wallet, "GET /v2/positions")
        params: Params = [
            ("user", wallet),
            ("limit", self._limit),
            ("status", "CLOSED"),
            ("include_archived", "true"),  # a market archived since is no reason to hide a closed one
            ("end", self._end("/v2/positions", wallet)),
        ]
        return snapshot(await self._walk("/v2/positions", params, wallet, V2Position))

    history_from_activity = False
    walks_activity_forward = False
    """v2 walks activity newest first: a walk that stops early leaves older rows behind."""

    async def activity(
        self,
        wallet: str,
        *,
        types: Sequence[str],
        start: int | None,
        end: int | None,
        max_pages: int | None = None,
    ) -> ActivityHistory:
        wallet = normalize_address(wallet)
        await self.transport.cooldown.wait(wallet, "GET /v2/activity")
        params: Params = [
            ("user", wallet),
            ("limit", self._limit),
            ("start", max(start or 1, 1)),
            ("end", self._end("/v2/activity", wallet, end)),
        ]
        csv = type_csv(list(types))
        if csv:
            params.append(("type", csv))
        walk = await self._walk("/v2/activity", params, wallet, V2Activity, max_pages=max_pages)
        return activity_history(walk, start, end)

    async def activity_before(self, wallet: str, *, end: int, max_pages: int) -> ActivityHistory | None:
        """Activity at or before ``end``, newest first, from up to ``max_pages`` pages."""
        return await self.activity(wallet, types=(), start=None, end=end, max_pages=max_pages)

    async def first_activity_at(self, wallet: str) -> int | None:
        """The wallet's oldest activity row's second (one ASC request), None when it has none."""
        wallet = normalize_address(wallet)
        params: Params = [
            ("user", wallet),
            ("limit", 1),
            ("start", 1),
            ("end", self._end("/v2/activity", wallet)),
            ("sort_direction", "ASC"),
        ]

        def parse(ctx: ParseContext, body: Any, rejections: Rejections) -> list[Any]:
            return parse_page(ctx, V2Activity, body, rejections)[0]

        return await first_timestamp(self.transport, "/v2/activity", params, wallet, self._now(), parse)

    async def value(self, wallet: str) -> tuple[PortfolioValue, Any]:
        return await portfolio_value(
            self.transport, "/v2/value", normalize_address(wallet), self._now(), parse_value
        )
