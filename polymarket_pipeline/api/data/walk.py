"""The state of one paged walk, shared by both versions: pages, bodies, rejections, completeness.

Whatever the paging does (v1 offsets shifting under new fills, a server repeating a page, a
cursor boundary repeating a row), the walk's rows are the union of its pages
(``domain.fills.union_pages``): a row re-served on another page is one row; exact repeats
within one page are distinct fills and are kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from polymarket_pipeline.api.data.rows import ValueRow
from polymarket_pipeline.api.results import ActivityHistory, PositionSnapshot
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.transport import Params, Transport
from polymarket_pipeline.api.validation import ParseContext, Rejections, validate_rows, wallet_check
from polymarket_pipeline.domain.fills import union_pages
from polymarket_pipeline.domain.records import PortfolioValue

log = logging.getLogger("polymarket_pipeline.api")


class AdapterCore:
    """What both versions' adapters hold: the transport (and its settings) and the clock."""

    def __init__(self, transport: Transport, clock: Callable[[], float]) -> None:
        self.transport = transport
        self.settings = transport.settings
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock())


class Keyed(Protocol):
    @property
    def natural_key(self) -> str: ...


R = TypeVar("R", bound=Keyed)


@dataclass
class Walk(Generic[R]):
    """Pages of records as they arrive; ``rows()`` is their union."""

    ctx: ParseContext
    stats: ApiStats
    pages: list[list[R]] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    complete: bool = True
    reason: str | None = None
    rejections: Rejections = field(init=False)

    def __post_init__(self) -> None:
        self.rejections = Rejections(self.stats)

    @property
    def page_ctx(self) -> ParseContext:
        """The context for the page about to be parsed (named in rejection messages)."""
        return self.ctx.at_page(len(self.bodies))

    def add(self, body: Any, records: list[R]) -> None:
        self.bodies.append(body)
        self.pages.append(records)

    def stop_incomplete(self, reason: str) -> None:
        """End the walk early: what was read is kept, and the result says it is partial."""
        self.complete = False
        self.reason = reason
        self.stats.record_incomplete_walk()
        log.warning("%s: walk stopped early after %d pages: %s", self.ctx.subject, len(self.bodies), reason)

    def finish(self) -> None:
        self.rejections.summarize(self.ctx)

    @property
    def rejected(self) -> int:
        return self.rejections.count

    def rows(self, keep: Callable[[R], bool] | None = None) -> list[R]:
        rows = union_pages(self.pages)
        return rows if keep is None else [r for r in rows if keep(r)]

    def outcome(self) -> dict[str, Any]:
        """The walk's ``WalkResult`` fields, for the result a version returns."""
        return {
            "complete": self.complete,
            "rejected": self.rejected,
            "incomplete_reason": self.reason,
            "pages": len(self.bodies),
        }

    def straddling_keys(self) -> set[str]:
        """Natural keys of a second that a page boundary cuts, found on both sides of it.

        Such a key is either one row served twice (a cursor boundary that repeats its anchor) or
        identical legs of one transaction split by the page size: the pages alone cannot tell.
        Rows of one second need not come in key order, so the whole second is compared, not just
        the rows touching the boundary.
        """
        found: set[str] = set()
        for before, after in zip(self.pages, self.pages[1:], strict=False):
            second = _second(before[-1]) if before and after else None
            if second is None or _second(after[0]) != second:
                continue
            ended = {r.natural_key for r in before if _second(r) == second}
            found |= ended & {r.natural_key for r in after if _second(r) == second}
        return found


def _second(row: object) -> int | None:
    """A timed row's second (fills, activity); None for rows with no time (positions)."""
    second = getattr(row, "timestamp", None)
    return second if isinstance(second, int) else None


def in_window(start: int | None, end: int | None) -> Callable[[Any], bool]:
    """``start <= row.timestamp <= end`` (either bound may be open)."""

    def keep(row: Any) -> bool:
        ts: int = row.timestamp
        return (start is None or ts >= start) and (end is None or ts <= end)

    return keep


def type_csv(types: tuple[str, ...] | list[str]) -> str:
    """``("redeem", " TRADE")`` -> ``"REDEEM,TRADE"``; empty means every type."""
    return ",".join(t.strip().upper() for t in types if t.strip())


def activity_history(walk: Walk[Any], start: int | None, end: int | None) -> ActivityHistory:
    """A finished activity walk as its result: rows in the window, newest first, each once."""
    items = sorted(walk.rows(in_window(start, end)), key=lambda a: -a.timestamp)
    return ActivityHistory(items=items, **walk.outcome())


async def first_timestamp(
    transport: Transport,
    path: str,
    params: Params,
    wallet: str,
    now: int,
    parse: Callable[[ParseContext, Any, Rejections], list[Any]],
) -> int | None:
    """The second of the one row an ASC ``limit=1`` request returns (a wallet's first activity)."""
    route = f"GET {path}"
    await transport.cooldown.wait(wallet, route)
    body = await transport.get("data", path, params, route=route, wallet=wallet)
    assert body is not None
    records = parse(ParseContext(route, wallet, now), body.data, Rejections(transport.stats))
    return min((r.timestamp for r in records), default=None)


async def portfolio_value(
    transport: Transport,
    path: str,
    wallet: str,
    now: int,
    parse: Callable[[ParseContext, Any, Rejections], PortfolioValue],
) -> tuple[PortfolioValue, Any]:
    """One ``/value`` request (v1 or v2 path, the version's parser), and the body as received."""
    route = f"GET {path}"
    await transport.cooldown.wait(wallet, route)
    body = await transport.get("data", path, [("user", wallet)], route=route, wallet=wallet)
    assert body is not None
    return parse(ParseContext(route, wallet, now), body.data, Rejections(transport.stats)), body.data


def snapshot(walk: Walk[Any]) -> PositionSnapshot:
    """A positions walk as a snapshot: incomplete when the walk was, or when a row was rejected.

    A position is unique per token: a token listed twice on one page counts once (the first).
    """
    complete = walk.complete and walk.rejected == 0
    reason = walk.reason
    if walk.rejected and reason is None:
        reason = f"{walk.rejected} row{'s' if walk.rejected > 1 else ''} rejected"
    positions = list({p.natural_key: p for p in reversed(walk.rows())}.values())[::-1]
    return PositionSnapshot(
        positions=positions,
        bodies=walk.bodies,
        **{**walk.outcome(), "complete": complete, "incomplete_reason": reason},
    )


def value_of(ctx: ParseContext, model: type[ValueRow], data: Any, rejections: Rejections) -> PortfolioValue:
    """One ``{wallet, value}`` object or a list of them -> this wallet's value (None if unknown).

    A row of another wallet is rejected; an empty answer, or only rejected rows, mean unknown.
    """
    wallet = ctx.wallet
    assert wallet is not None
    if data is None:
        return PortfolioValue(wallet_address=wallet, value=None)
    if isinstance(data, dict):
        if "value" not in data and "error" in data:
            raise ctx.error("expected a value, got an error object", field="value")
        data = [data]
    rows = validate_rows(ctx, model, data, rejections, check=wallet_check(wallet))
    rejections.summarize(ctx)
    chosen = rows[0] if rows else None
    return PortfolioValue(wallet_address=wallet, value=chosen.value if chosen else None)


class MovingBound:
    """Successive moving ``end`` bounds for the same (route, wallet): never the same twice.

    ``end`` has one-second resolution, so two requests of one route within a second would repeat
    a URL and an edge cache could answer the second with the first's body. A repeat within the
    same second is bumped by one second (far inside the clock-skew allowance), so the URL always
    moves. Process-wide (clients come and go every sensor tick; the edge cache does not),
    thread-safe, bounded in memory.
    """

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def end(self, route: str, wallet: str | None, at: int) -> int:
        key = (route, wallet or "")
        with self._lock:
            value = max(at, self._last.get(key, at - 1) + 1)
            if len(self._last) >= self.MAX_KEYS:
                self._last.clear()
            self._last[key] = value
        return value


BOUNDS = MovingBound()
